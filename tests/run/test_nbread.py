"""nbprod's light notebook reader against nbformat's: the same notebooks accepted and read
the same, the same ones refused; and a run still executes what nbformat reads."""

from __future__ import annotations

import copy
import importlib.util
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest

from nbprod import nbread
from tests.conftest import EXAMPLES, REPO

BASE: dict[str, Any] = {
    "cells": [
        {
            "cell_type": "code",
            "id": "a",
            "metadata": {"tags": ["parameters"], "trusted": True},
            "source": ["x = 1\n", "y = 2"],
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["a\n", "b"]},
                {
                    "output_type": "display_data",
                    "data": {"text/plain": ["1", "2"], "application/json": ["x"]},
                    "metadata": {},
                },
            ],
            "execution_count": None,
        },
        {
            "cell_type": "markdown",
            "id": "b",
            "metadata": {},
            "source": "hi",
            "attachments": {"f.png": {"image/png": ["aa", "bb"]}},
        },
        {"cell_type": "raw", "id": "c", "metadata": {}, "source": ""},
    ],
    "metadata": {"signature": "s", "kernelspec": {"name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}
ODD_VALUES = [None, 1, "s", [], {}, [1], ["a"], {"a": 1}, True, 4.0, -1, [{}], [None]]
DELETE = object()


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    children = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in children:
        found += _paths(value, (*prefix, key))
    return found


def _changed(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def _nbformat_reads(text: str) -> Any:
    """What nbprod read before: nbformat's reader, then the runner's check for cells."""
    nb = nbformat.from_dict(nbformat.reads(text, as_version=4))
    if not isinstance(nb.get("cells"), list):
        raise ValueError("no cells")
    return nb


def _nbread_reads(text: str) -> Any:
    nb = nbread.reads(text)
    if not isinstance(nb.get("cells"), list):
        raise ValueError("no cells")
    return nb


def _outcome(read: Any, text: str) -> tuple[str, Any]:
    try:
        return "read", json.loads(json.dumps(read(text)))
    except Exception as exc:  # noqa: BLE001 - which failure it is does not matter here
        return "refused", type(exc).__name__


def _without_ids(data: Any) -> Any:
    """nbformat invents ids for cells without one (or with a duplicate): random, so left out."""
    if isinstance(data, dict):
        return {k: _without_ids(v) for k, v in data.items() if k != "id"}
    if isinstance(data, list):
        return [_without_ids(v) for v in data]
    return data


def _variants() -> list[str]:
    texts = []
    for minor in (4, 5):
        base = {**BASE, "nbformat_minor": minor}
        for path in _paths(base):
            for value in [*ODD_VALUES, DELETE]:
                if value is DELETE and not path:
                    continue
                texts.append(json.dumps(_changed(base, path, value)))
    texts += [
        *("", "[]", "1", "null", '"x"', "{", '{"cells": ['),
        *('{"nbformat": 5}', '{"nbformat": "4"}', '{"nbformat": 4}', '{"nbformat": 4.0}'),
        '{"nbformat": 4, "cells": []}',
        '{"nbformat": 4, "metadata": {}}',
        '{"nbformat": 4, "metadata": {}, "cells": {}}',
        '{"nbformat": 4, "metadata": {}, "cells": "ab"}',
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"id": ["x"]}]}',
    ]
    return texts


@pytest.fixture
def quiet_nbformat():
    """nbformat logs schema errors and warns about ids; neither matters to the comparison."""
    logging.disable(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    logging.disable(logging.NOTSET)


def test_every_variant_is_read_or_refused_as_nbformat_does(quiet_nbformat):
    """1,400 notebooks: each key of a notebook replaced by an odd value or deleted."""
    texts = _variants()
    assert len(texts) > 1000
    differ = []
    for text in texts:
        theirs, ours = _outcome(_nbformat_reads, text), _outcome(_nbread_reads, text)
        if theirs[0] == ours[0] == "read":  # and what a run executes is nbformat's reading
            ours = _outcome(lambda t: nbread.executable(_nbread_reads(t)), text)
        if theirs[0] != ours[0] or (
            theirs[0] == "read" and _without_ids(theirs[1]) != _without_ids(ours[1])
        ):
            differ.append((text[:120], theirs, ours))
    assert not differ, differ[:5]
    refused = sum(_outcome(_nbread_reads, t)[0] == "refused" for t in texts)
    assert 100 < refused < len(texts) - 100  # both kinds are exercised


def test_real_notebooks_read_alike_and_old_formats_are_converted(quiet_nbformat):
    """The repository's notebooks, and the test notebooks of papermill and nbdime when
    installed (formats 3 and 4, outputs of every kind, broken ones)."""
    paths = [*EXAMPLES.glob("*.ipynb"), *(REPO / "templates").glob("*.ipynb")]
    assert len(paths) >= 8
    for package in ("papermill", "nbdime"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            paths += Path(spec.origin).parent.joinpath("tests").rglob("*.ipynb")
    for path in paths:
        text = path.read_text("utf-8")
        theirs, ours = _outcome(_nbformat_reads, text), _outcome(_nbread_reads, text)
        assert theirs[0] == ours[0], path
        if theirs[0] == "read":
            assert _without_ids(theirs[1]) == _without_ids(ours[1]), path
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [{"cells": [{"cell_type": "code", "input": "x = 1", "outputs": []}]}],
    }
    nb = nbread.reads(json.dumps(v3))
    assert nb.nbformat == 4 and nb.cells[0].source == "x = 1"


def test_the_executed_copy_is_nbformats_own_reading(quiet_nbformat):
    """ids repaired as nbformat repairs them (format 4.5), nodes of nbformat's own type, a
    deep copy (the run's edits never reach the request's notebook)."""
    doc = copy.deepcopy(BASE)
    doc["cells"][1]["id"] = "a"  # a duplicate
    del doc["cells"][2]["id"]  # a missing one
    text = json.dumps(doc)
    light = nbread.reads(text)
    assert [c.get("id") for c in light.cells] == ["a", "a", None]  # nothing repaired yet
    executed = nbread.executable(light)
    ids = [c.id for c in executed.cells]
    assert ids[0] == "a" and len(set(ids)) == 3 and all(ids)
    assert isinstance(executed, nbformat.NotebookNode)
    assert isinstance(executed.cells[0].metadata, nbformat.NotebookNode)
    assert _without_ids(executed) == _without_ids(nbformat.reads(text, as_version=4))
    executed.cells[0].source = "changed"
    assert light.cells[0].source == "x = 1\ny = 2"


def test_the_light_node_behaves_like_nbformats():
    nb = nbread.reads(json.dumps(BASE))
    nb.metadata.papermill = {"parameters": {"a": 1}}
    assert nb.metadata.papermill.parameters.a == 1  # assigned dicts become nodes
    nb.cells[0]["metadata"]["extra"] = {"k": "v"}
    assert nb.cells[0].metadata.extra.k == "v"
    with pytest.raises(AttributeError):
        nb.nope  # noqa: B018
    assert copy.deepcopy(nb) == nb and json.loads(json.dumps(nb)) == nb
