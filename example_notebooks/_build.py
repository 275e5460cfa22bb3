"""Generate the example notebooks shipped with nbprod.

Run from anywhere:  python example_notebooks/_build.py

The script is idempotent: it rewrites every notebook from the sources below,
with no outputs and execution_count = null. Cell ids are derived from the
notebook name and cell position so that re-running produces identical files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

METADATA = {
    "kernelspec": {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    },
    "language_info": {
        "name": "python",
        "file_extension": ".py",
        "mimetype": "text/x-python",
    },
}


def md(source: str):
    return new_markdown_cell(source.strip("\n"))


def code(source: str, tags: list[str] | None = None):
    cell = new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(source: str):
    return code(source, tags=["parameters"])


def build(name: str, cells: list) -> Path:
    nb = new_notebook(cells=cells, metadata=dict(METADATA))
    nb.nbformat = 4
    nb.nbformat_minor = 5
    for i, cell in enumerate(nb.cells):
        # Stable, valid ids (^[a-zA-Z0-9-_]+$, 1-64 chars) for reproducible output.
        cell.id = hashlib.sha1(f"{name}:{i}".encode()).hexdigest()[:8]
    nbformat.validate(nb)
    path = HERE / name
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        nbformat.write(nb, fh)
    return path


# ---------------------------------------------------------------------------
# 1. sales_report.ipynb
# ---------------------------------------------------------------------------
SALES_REPORT = [
    md(
        """
# Sales report

The main nbprod example. It synthesises **seeded, deterministic** order data
for one sales region over the last `days` days, aggregates revenue per day and
per product, shows a table and a chart, and records the headline numbers as
scrapbook scraps (`total_revenue`, `orders`, `top_product`) so that a
production run can be checked and compared without reading the notebook.

Everything is generated locally with numpy/pandas: no network access is needed.
"""
    ),
    params(
        """
region: str = "eu"  # sales region: eu, us or apac
days: int = 7  # how many days of history
currency = "EUR"  # currency label used in the report
min_order: float = 0.0  # ignore orders below this amount
show_chart: bool = True  # draw the daily revenue chart
"""
    ),
    md("## Setup and parameter validation"),
    code(
        """
# papermill_description=setup
%matplotlib inline
import zlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scrapbook as sb

REGIONS = {
    # region: (mean orders per day, mean order value)
    "eu": (40, 55.0),
    "us": (60, 70.0),
    "apac": (30, 45.0),
}
PRODUCTS = ["widget", "gadget", "gizmo", "doohickey", "sprocket"]
PRODUCT_WEIGHTS = [0.35, 0.25, 0.2, 0.12, 0.08]
"""
    ),
    code(
        """
# papermill_description=validate_parameters
if region not in REGIONS:
    raise ValueError(
        f"unknown region {region!r}: expected one of {', '.join(sorted(REGIONS))}"
    )
if int(days) < 1:
    raise ValueError(f"days must be a positive integer, got {days!r}")
days = int(days)
min_order = float(min_order)
print(f"region={region} days={days} currency={currency} min_order={min_order}")
"""
    ),
    md("## Synthesise order data"),
    code(
        """
# papermill_description=synthesise_orders
# Seed from the region name so every region gets its own, reproducible data.
rng = np.random.default_rng(zlib.crc32(region.encode()))
orders_per_day, mean_value = REGIONS[region]
end = pd.Timestamp("2024-01-31")
dates = pd.date_range(end=end, periods=days, freq="D")

counts = rng.poisson(orders_per_day, size=days)
orders = pd.DataFrame(
    {
        "date": np.repeat(dates, counts),
        "product": rng.choice(PRODUCTS, size=counts.sum(), p=PRODUCT_WEIGHTS),
        "amount": rng.gamma(shape=2.0, scale=mean_value / 2.0, size=counts.sum()).round(2),
    }
)
orders = orders[orders["amount"] >= min_order].reset_index(drop=True)
print(f"{len(orders)} orders generated")
orders.head()
"""
    ),
    md("## Revenue per day and per product"),
    code(
        """
# papermill_description=revenue_per_day
per_day = (
    orders.groupby("date")["amount"]
    .agg(revenue="sum", orders="count")
    .reindex(dates, fill_value=0)
    .rename_axis("date")
)
per_day["revenue"] = per_day["revenue"].round(2)
per_day
"""
    ),
    code(
        """
# papermill_description=revenue_per_product
per_product = (
    orders.groupby("product")["amount"]
    .agg(revenue="sum", orders="count")
    .sort_values("revenue", ascending=False)
)
per_product["revenue"] = per_product["revenue"].round(2)
per_product["share"] = (per_product["revenue"] / per_product["revenue"].sum()).round(3)
per_product
"""
    ),
    code(
        """
# papermill_description=daily_chart
if show_chart:
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(per_day.index.strftime("%m-%d"), per_day["revenue"], color="tab:blue")
    ax.set_title(f"Daily revenue, region {region} ({currency})")
    ax.set_ylabel(currency)
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    plt.show()
else:
    print("chart disabled (show_chart=False)")
"""
    ),
    md("## Record results"),
    code(
        """
# papermill_description=record_scraps
total_revenue = float(round(orders["amount"].sum(), 2))
n_orders = int(len(orders))
top_product = str(per_product.index[0]) if n_orders else ""
avg_order_value = round(total_revenue / n_orders, 2) if n_orders else 0.0

sb.glue("total_revenue", total_revenue)
sb.glue("orders", n_orders)
sb.glue("top_product", top_product)
sb.glue("avg_order_value", avg_order_value)
"""
    ),
    code(
        """
# papermill_description=summary
print(
    f"{region}: {n_orders} orders over {days} days, "
    f"revenue {total_revenue:,.2f} {currency}, top product {top_product}"
)
"""
    ),
]


# ---------------------------------------------------------------------------
# 2. train_model.ipynb
# ---------------------------------------------------------------------------
TRAIN_MODEL = [
    md(
        """
# Train a model

Trains a small classifier on scikit-learn's bundled breast-cancer data set
(shipped with scikit-learn, nothing is downloaded), evaluates it on a held-out
split and records `accuracy`, `f1`, `n_train` and the `params_used` dict as
scraps. Results are deterministic for a given `seed`.
"""
    ),
    params(
        """
model: str = "logreg"  # logreg or forest
test_size: float = 0.25  # fraction of rows held out for evaluation
seed: int = 42  # random seed for the split and the model
max_iter: int = 200  # iterations for logreg, trees for forest
features: list = []  # optional subset of feature names; empty means all
"""
    ),
    code(
        """
import pandas as pd
import scrapbook as sb
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
"""
    ),
    md("## Load data"),
    code(
        """
data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target

if features:
    unknown = sorted(set(features) - set(X.columns))
    if unknown:
        raise ValueError(f"unknown feature names: {unknown}")
    X = X[list(features)]

if not 0.0 < float(test_size) < 1.0:
    raise ValueError(f"test_size must be between 0 and 1, got {test_size!r}")

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=float(test_size), random_state=int(seed), stratify=y
)
print(f"{X.shape[1]} features, {len(X_train)} train rows, {len(X_test)} test rows")
"""
    ),
    md("## Train"),
    code(
        """
if model == "logreg":
    clf = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=int(max_iter), random_state=int(seed))
    )
elif model == "forest":
    clf = RandomForestClassifier(n_estimators=int(max_iter), random_state=int(seed), n_jobs=1)
else:
    raise ValueError(f"unknown model {model!r}: expected 'logreg' or 'forest'")

clf.fit(X_train, y_train)
"""
    ),
    md("## Evaluate"),
    code(
        """
pred = clf.predict(X_test)
accuracy = float(accuracy_score(y_test, pred))
f1 = float(f1_score(y_test, pred))

labels = list(data.target_names)
cm = pd.DataFrame(
    confusion_matrix(y_test, pred),
    index=[f"true {name}" for name in labels],
    columns=[f"pred {name}" for name in labels],
)
cm
"""
    ),
    code(
        """
params_used = {
    "model": model,
    "test_size": float(test_size),
    "seed": int(seed),
    "max_iter": int(max_iter),
    "features": list(X.columns) if features else "all",
}

sb.glue("accuracy", accuracy)
sb.glue("f1", f1)
sb.glue("n_train", int(len(X_train)))
sb.glue("params_used", params_used)

print(f"{model}: accuracy={accuracy:.3f} f1={f1:.3f} on {len(X_test)} test rows")
"""
    ),
]


# ---------------------------------------------------------------------------
# 3. failing_example.ipynb
# ---------------------------------------------------------------------------
FAILING_EXAMPLE = [
    md(
        """
# A notebook that fails on purpose

Used in the documentation to show what a failed production run looks like.
A data-quality score is computed and glued as the `score` scrap, then a check
raises `ValueError` when `fail` is true. The cells after the check print a
message, so in the executed output you can see that they never ran.

Run with `fail=False` to make it pass.
"""
    ),
    params(
        """
threshold: float = 0.5  # minimum acceptable data-quality score
fail: bool = True  # set false to make it pass
"""
    ),
    code(
        """
import numpy as np
import scrapbook as sb

rng = np.random.default_rng(0)
sample = rng.uniform(0.0, 0.6, size=100)
score = float(sample.mean())
sb.glue("score", score)
print(f"data-quality score: {score:.3f} (threshold {threshold})")
"""
    ),
    code(
        """
if fail:
    raise ValueError(f"data quality check failed: score {score:.2f} below threshold {threshold}")
print("data quality check passed")
"""
    ),
    code(
        """
print("this cell runs only after the quality check passed")
"""
    ),
    code(
        """
sb.glue("status", "ok")
print("done")
"""
    ),
]


# ---------------------------------------------------------------------------
# 4. no_parameters.ipynb
# ---------------------------------------------------------------------------
NO_PARAMETERS = [
    md(
        """
# No parameters

The smallest possible example: there is no cell tagged `parameters`, so the
notebook always runs the same way. It prints a greeting and glues one scrap,
`greeting`.
"""
    ),
    code(
        """
import scrapbook as sb

message = "hello from nbprod"
print(message)
sb.glue("greeting", message)
"""
    ),
]


NOTEBOOKS = {
    "sales_report.ipynb": SALES_REPORT,
    "train_model.ipynb": TRAIN_MODEL,
    "failing_example.ipynb": FAILING_EXAMPLE,
    "no_parameters.ipynb": NO_PARAMETERS,
}


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        path = build(name, cells)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
