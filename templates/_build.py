"""Generate the notebook templates shipped with nbprod (``nbprod templates list``).

Run from anywhere:  python templates/_build.py

Idempotent: every template is rewritten from the sources below with no outputs,
``execution_count = null`` and cell ids derived from the template name and cell position,
so re-running produces identical files. Each template carries its name, a one-line
description and the packages it needs in ``metadata.nbprod.template``; nbprod reads those.

Rules every template follows (tests/templates checks them by executing each one):
- a typed ``parameters`` cell (annotations and a trailing help comment per parameter);
- deterministic and offline with its defaults (seeded synthetic data or data bundled with
  a library), finishing in a few seconds once the kernel has started;
- its results recorded as scrapbook scraps (``sb.glue``) with JSON values.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

KERNEL_METADATA = {
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


def build(name: str, description: str, requires: list[str], cells: list) -> Path:
    metadata = dict(KERNEL_METADATA)
    metadata["nbprod"] = {
        "template": {"name": name, "description": description, "requires": list(requires)}
    }
    nb = new_notebook(cells=cells, metadata=metadata)
    nb.nbformat = 4
    nb.nbformat_minor = 5
    for i, cell in enumerate(nb.cells):
        cell.id = hashlib.sha1(f"template:{name}:{i}".encode()).hexdigest()[:8]
    nbformat.validate(nb)
    path = HERE / f"{name}.ipynb"
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        nbformat.write(nb, fh)
    return path


# ---------------------------------------------------------------------------
# report: a scheduled report with a table and a chart
# ---------------------------------------------------------------------------
REPORT = [
    md(
        """
# Scheduled report

A report meant to run on a schedule (`nbprod new daily.ipynb --template report --job`
writes a job definition next to it). It loads the records of the reporting period,
summarises them per segment (a table) and per day (a chart), and records the headline
numbers as scraps (`total_revenue`, `orders`, `avg_order_value`, `top_segment`,
`change_pct`), so runs can be compared with `nbprod runs list --scrap 'total_revenue>1000'`
without opening the notebook.

**Adapt it:** replace `load_records()` with your query; keep its columns
(`date`, `segment`, `amount`). The synthetic data below is seeded per day, so a given day
always has the same numbers.
"""
    ),
    params(
        """
end_date: str = ""  # last day of the report, YYYY-MM-DD; empty: the day the run executes
days: int = 14  # days of history in the report
segment: str = "all"  # one segment (north, south, east, west) or all
currency: str = "EUR"  # currency label for amounts
show_chart: bool = True  # draw the daily revenue chart
"""
    ),
    md("## Set-up"),
    code(
        """
%matplotlib inline
import zlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scrapbook as sb

SEGMENTS = ["north", "south", "east", "west"]

if days < 1:
    raise ValueError(f"days must be at least 1, got {days}")
if segment != "all" and segment not in SEGMENTS:
    raise ValueError(f"unknown segment {segment!r}: use all or one of {', '.join(SEGMENTS)}")
# Empty (or "today") is the day the run executes, so a scheduled daily run reports its own
# day; a date reproduces a past report.
end = pd.Timestamp(end_date) if end_date not in ("", "today") else pd.Timestamp.today().normalize()
period = pd.date_range(end=end, periods=days, freq="D")
print(f"report {period[0].date()} .. {period[-1].date()}, segment {segment}")
"""
    ),
    md("## Load the records of the period"),
    code(
        """
def load_records(dates: pd.DatetimeIndex) -> pd.DataFrame:
    \"\"\"Replace with your query. Synthetic orders, seeded per day (deterministic).\"\"\"
    frames = []
    for day in dates:
        rng = np.random.default_rng(zlib.crc32(day.strftime("%Y-%m-%d").encode()))
        for i, name in enumerate(SEGMENTS):
            n = int(rng.poisson(20 + 5 * i))
            frames.append(
                pd.DataFrame(
                    {
                        "date": day,
                        "segment": name,
                        "amount": rng.gamma(2.0, 25.0 + 5 * i, size=n).round(2),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


records = load_records(period)
if segment != "all":
    records = records[records["segment"] == segment].reset_index(drop=True)
print(f"{len(records)} records")
"""
    ),
    md("## Summary per segment"),
    code(
        """
summary = (
    records.groupby("segment")["amount"]
    .agg(revenue="sum", orders="count", avg_order="mean")
    .sort_values("revenue", ascending=False)
)
summary["share"] = summary["revenue"] / summary["revenue"].sum()
formats = {"revenue": "{:,.2f}", "avg_order": "{:,.2f}", "share": "{:.1%}"}
summary.style.format(formats).set_caption(f"Revenue per segment ({currency})")
"""
    ),
    md("## Revenue per day"),
    code(
        """
daily = (
    records.pivot_table(index="date", columns="segment", values="amount", aggfunc="sum")
    .reindex(period)
    .fillna(0.0)
)
if show_chart:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    bottom = np.zeros(len(daily))
    for name in daily.columns:
        ax.bar(daily.index.strftime("%m-%d"), daily[name], bottom=bottom, label=name)
        bottom += daily[name].to_numpy()
    ax.set_title(f"Daily revenue ({currency})")
    ax.set_ylabel(currency)
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="upper left", fontsize="small", ncols=len(daily.columns))
    fig.tight_layout()
    plt.show()
daily.round(2).tail(7)
"""
    ),
    md("## Record the results"),
    code(
        """
total = daily.sum(axis=1)
half = len(total) // 2
first, second = float(total.iloc[:half].sum()), float(total.iloc[half:].sum())
change_pct = round(100.0 * (second - first) / first, 2) if half and first else None

total_revenue = round(float(records["amount"].sum()), 2)
orders = int(len(records))
sb.glue("total_revenue", total_revenue)
sb.glue("orders", orders)
sb.glue("avg_order_value", round(total_revenue / orders, 2) if orders else None)
sb.glue("top_segment", str(summary.index[0]) if orders else None)
sb.glue("change_pct", change_pct)
sb.glue("period", {"start": str(period[0].date()), "end": str(period[-1].date())})
print(f"revenue {total_revenue:,.2f} {currency} from {orders} orders; change {change_pct}%")
"""
    ),
]


# ---------------------------------------------------------------------------
# data_quality: checks that fail the run
# ---------------------------------------------------------------------------
DATA_QUALITY = [
    md(
        """
# Data-quality check

Runs a list of checks on a data set and **fails the run** (exit code 1, status `failed`)
when any check fails, so a scheduler retries it and `on_failure` notifications fire. The
results table is shown either way, and recorded as scraps: `checks_failed`, `failed_checks`,
`check_results` and `rows`.

**Adapt it:** replace `load_data()` with your query and edit the thresholds (parameters)
or add checks with `check(name, value, threshold, passed)`. Try a failing threshold:
`nbprod exec check.ipynb -p min_rows 5000`.
"""
    ),
    params(
        """
dataset: str = "orders"  # name of the data set checked (shown in the report)
as_of: str = ""  # the day the data should be complete for, YYYY-MM-DD; empty: the run's day
min_rows: int = 500  # fail when the data has fewer rows
required_columns: list[str] = ["order_id", "date", "customer", "amount"]  # must exist
max_null_fraction: float = 0.01  # fail when a required column has more missing values
max_duplicate_keys: int = 0  # fail when more order_id values are duplicated
amount_min: float = 0.0  # smallest valid amount
amount_max: float = 5000.0  # largest valid amount
max_age_days: int = 1  # fail when the newest record is older than this many days
"""
    ),
    code(
        """
import numpy as np
import pandas as pd
import scrapbook as sb

day = pd.Timestamp(as_of) if as_of not in ("", "today") else pd.Timestamp.today().normalize()


def load_data() -> pd.DataFrame:
    \"\"\"Replace with your query. 1,000 seeded synthetic orders, 3 without a customer.\"\"\"
    rng = np.random.default_rng(7)
    n = 1000
    frame = pd.DataFrame(
        {
            "order_id": np.arange(100_000, 100_000 + n),
            "date": day - pd.to_timedelta(rng.integers(0, 30, size=n), unit="D"),
            "customer": rng.choice(["acme", "globex", "initech", "umbrella"], size=n),
            "amount": rng.gamma(2.0, 60.0, size=n).round(2),
        }
    )
    frame.loc[[17, 404, 911], "customer"] = None
    return frame


data = load_data()
print(f"{dataset}: {len(data)} rows, columns {list(data.columns)}")
"""
    ),
    md("## Checks"),
    code(
        """
results = []


def check(name: str, value, threshold, passed: bool) -> None:
    results.append({"check": name, "value": value, "threshold": threshold, "passed": bool(passed)})


check("row count", len(data), f">= {min_rows}", len(data) >= min_rows)
missing = [c for c in required_columns if c not in data.columns]
check("required columns", ", ".join(missing) or "all present", "all present", not missing)
for column in [c for c in required_columns if c in data.columns]:
    fraction = float(data[column].isna().mean())
    check(
        f"nulls in {column}",
        round(fraction, 4),
        f"<= {max_null_fraction}",
        fraction <= max_null_fraction,
    )
if "order_id" in data.columns:
    duplicates = int(data["order_id"].duplicated().sum())
    check(
        "duplicate order_id",
        duplicates,
        f"<= {max_duplicate_keys}",
        duplicates <= max_duplicate_keys,
    )
if "amount" in data.columns:
    amounts = data["amount"].dropna()
    outside = int(((amounts < amount_min) | (amounts > amount_max)).sum())
    check("amount out of range", outside, f"0 outside [{amount_min}, {amount_max}]", outside == 0)
if "date" in data.columns and len(data):
    age = int((day - data["date"].max()).days)
    check("age of newest record (days)", age, f"<= {max_age_days}", age <= max_age_days)

report = pd.DataFrame(results)
report.style.apply(
    lambda row: ["" if row["passed"] else "background-color: #f8d7da"] * len(row), axis=1
)
"""
    ),
    md("## Record the results, then fail the run if a check failed"),
    code(
        """
failed = [r["check"] for r in results if not r["passed"]]
sb.glue("rows", int(len(data)))
sb.glue("checks_total", len(results))
sb.glue("checks_failed", len(failed))
sb.glue("failed_checks", failed)
sb.glue(
    "check_results",
    {r["check"]: {"value": r["value"], "passed": r["passed"]} for r in results},
)
print(f"{len(results) - len(failed)} of {len(results)} checks passed")
"""
    ),
    code(
        """
class DataQualityError(Exception):
    \"\"\"Raised so that the run ends failed (exit code 1) when a check fails.\"\"\"


if failed:
    raise DataQualityError(f"{dataset}: {len(failed)} check(s) failed: {'; '.join(failed)}")
print(f"{dataset}: all checks passed")
"""
    ),
]


# ---------------------------------------------------------------------------
# train_model: train, evaluate, record metrics
# ---------------------------------------------------------------------------
TRAIN_MODEL = [
    md(
        """
# Train a model

Trains a classifier on scikit-learn's bundled breast-cancer data (nothing is
downloaded), evaluates it on a held-out split and records the metrics as scraps
(`accuracy`, `precision`, `recall`, `f1`, `roc_auc`, `n_train`, `n_test`). Deterministic
for a given `seed`. A natural sweep target:

```
nbprod sweep train.ipynb -p model logreg,forest -p C 0.1,1,10
nbprod sweeps show SWEEP_ID --sort accuracy --desc
```

**Adapt it:** replace `load_dataset()`; set `min_accuracy` to fail runs whose model is
not good enough (a failed run is never mistaken for a good one).
"""
    ),
    params(
        """
model: str = "logreg"  # logreg or forest
test_size: float = 0.25  # fraction of rows held out for evaluation
seed: int = 0  # random seed for the split and the model
C: float = 1.0  # inverse regularisation strength (logreg)
n_estimators: int = 100  # number of trees (forest)
max_depth: int | None = None  # depth limit of the trees (forest); None: unlimited
min_accuracy: float = 0.0  # fail the run when the test accuracy is below this
"""
    ),
    code(
        """
import pandas as pd
import scrapbook as sb
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
"""
    ),
    md("## Data"),
    code(
        """
def load_dataset() -> tuple[pd.DataFrame, pd.Series, list[str]]:
    \"\"\"Replace with your data: features, binary target, class names.\"\"\"
    data = load_breast_cancer(as_frame=True)
    return data.data, data.target, list(data.target_names)


X, y, class_names = load_dataset()
if not 0.0 < test_size < 1.0:
    raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=test_size, random_state=seed, stratify=y
)
print(f"{X.shape[1]} features, {len(X_train)} training rows, {len(X_test)} test rows")
"""
    ),
    md("## Train"),
    code(
        """
if model == "logreg":
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
elif model == "forest":
    clf = RandomForestClassifier(
        n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1
    )
else:
    raise ValueError(f"unknown model {model!r}: use logreg or forest")
clf.fit(X_train, y_train)
"""
    ),
    md("## Evaluate"),
    code(
        """
pred = clf.predict(X_test)
score = clf.predict_proba(X_test)[:, 1]
metrics = {
    "accuracy": accuracy_score(y_test, pred),
    "precision": precision_score(y_test, pred),
    "recall": recall_score(y_test, pred),
    "f1": f1_score(y_test, pred),
    "roc_auc": roc_auc_score(y_test, score),
}
metrics = {name: round(float(value), 4) for name, value in metrics.items()}
display(pd.Series(metrics, name="test").to_frame())
pd.DataFrame(
    confusion_matrix(y_test, pred),
    index=[f"true {c}" for c in class_names],
    columns=[f"predicted {c}" for c in class_names],
)
"""
    ),
    md("## Record the metrics"),
    code(
        """
for name, value in metrics.items():
    sb.glue(name, value)
sb.glue("n_train", int(len(X_train)))
sb.glue("n_test", int(len(X_test)))
print(", ".join(f"{k}={v}" for k, v in metrics.items()))

if metrics["accuracy"] < min_accuracy:
    raise ValueError(f"accuracy {metrics['accuracy']} is below min_accuracy {min_accuracy}")
"""
    ),
]


# ---------------------------------------------------------------------------
# basic: the smallest production notebook
# ---------------------------------------------------------------------------
BASIC = [
    md(
        """
# Notebook title

A minimal production notebook: typed parameters, one step of work, results recorded as
scraps. Only the standard library and scrapbook.

- Declare every input in the `parameters` cell: `name: type = default  # help`.
  `nbprod params THIS.ipynb` shows the schema; `nbprod exec THIS.ipynb -p n 10` runs it.
- Record results with `sb.glue(name, value)`; they appear in `nbprod runs show` and can
  be filtered (`nbprod runs list --scrap 'total>100'`).
- Raise an exception to fail the run.
"""
    ),
    params(
        """
name: str = "world"  # who to greet
n: int = 3  # how many numbers to add up
scale: float = 1.5  # factor applied to the total
"""
    ),
    code(
        """
import scrapbook as sb

if n < 0:
    raise ValueError(f"n must not be negative, got {n}")
total = scale * sum(range(1, n + 1))
print(f"hello {name}: the sum of 1..{n} times {scale} is {total}")
"""
    ),
    code(
        """
sb.glue("total", total)
sb.glue("greeting", f"hello {name}")
"""
    ),
]


TEMPLATES = [
    (
        "report",
        "Scheduled report: a period's records summarised per segment (table) and per day "
        "(chart), headline numbers as scraps.",
        ["pandas", "matplotlib"],
        REPORT,
    ),
    (
        "data_quality",
        "Data-quality check: row count, required columns, nulls, duplicates, ranges and "
        "freshness; the run fails when a check fails.",
        ["pandas"],
        DATA_QUALITY,
    ),
    (
        "train_model",
        "Model training: fit and evaluate a classifier (scikit-learn), metrics as scraps; "
        "optional minimum accuracy.",
        ["pandas", "scikit-learn"],
        TRAIN_MODEL,
    ),
    (
        "basic",
        "Minimal production notebook: typed parameters, one step, scraps; standard library only.",
        [],
        BASIC,
    ),
]


def main() -> None:
    for name, description, requires, cells in TEMPLATES:
        print(f"wrote {build(name, description, requires, cells)}")


if __name__ == "__main__":
    main()
