"""Property-based run of the REST API against specification/nbprod-api.yml (schemathesis):
a real Jupyter server subprocess with its token, every documented operation called with the
document's examples and with generated valid and invalid input. No answer may be a 5xx,
every answer must match the document (status code listed, JSON content type, body schema),
and input the document calls invalid must be refused.

Bounded so it stays well under a minute: few examples per operation, no shrinking, no
example database. The document's examples (``reports/daily.ipynb``, job ``daily-report``)
exist in the test contents root, so those requests reach the core (a parameter form, a
created job, a queued run) instead of a 404.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from tests.lab.conftest import TOKEN, LabServer  # noqa: E402

SPEC = Path(__file__).resolve().parents[2] / "specification" / "nbprod-api.yml"
schema = schemathesis.openapi.from_path(str(SPEC))
schema.config.generation.update(modes=["positive", "negative"])


@schemathesis.check
def invalid_input_refused(ctx, response, case):
    """``negative_data_rejection``, except for unknown query arguments: every Jupyter
    endpoint takes some the document cannot list (``?token=``, ``_xsrf``)."""
    known = {parameter.name for parameter in case.operation.query}
    if set(case.query or {}) - known:
        return None
    return checks.negative_data_rejection(ctx, response, case)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    invalid_input_refused,
]
"""What the document promises. Not ``positive_data_acceptance``: a valid request may still
name a notebook or job that does not exist (404)."""


@pytest.fixture(scope="module")
def spec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    # The embedded scheduler is off: queued runs need not execute for the API to answer.
    server = LabServer(
        tmp_path_factory.mktemp("lab-schemathesis"),
        extra_env={"NBPROD_EMBEDDED_SCHEDULER": "off"},
    )
    (server.root / "reports").mkdir()
    shutil.copy(server.root / "sales_report.ipynb", server.root / "reports" / "daily.ipynb")
    apply_example_pipeline(server)
    server.start()
    yield server
    server.stop()


EXAMPLE_PIPELINE = """
name: daily-ml
steps:
  - name: extract
    notebook: extract.ipynb
    parameters: {days: 7}
  - name: report
    notebook: report.ipynb
    needs: [extract]
    parameters_from: {rows: extract.row_count}
"""


def apply_example_pipeline(server: LabServer) -> None:
    """The document's example pipeline (``daily-ml``, step ``extract`` with ``days``), so
    the pipeline routes answer a real pipeline and its runs, not only 404."""
    from tests.conftest import GLUE, write_notebook

    folder = server.root / "pipelines"
    code = f'{GLUE}\nglue("row_count", days * 10)'
    write_notebook(folder / "extract.ipynb", code, parameters="days: int = 1")
    write_notebook(folder / "report.ipynb", "rows", parameters="rows: int = 0")
    (folder / "daily.yaml").write_text(EXAMPLE_PIPELINE)
    command = [sys.executable, "-m", "nbprod", "pipelines", "apply", str(folder / "daily.yaml")]
    applied = subprocess.run(command, env=server.env, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_document(case, spec_server: LabServer):
    case.call_and_validate(
        base_url=spec_server.base,
        headers={"Authorization": f"token {TOKEN}"},
        checks=CHECKS,
        timeout=60,
    )
