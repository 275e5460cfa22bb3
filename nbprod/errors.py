"""Errors that reach users, each with the CLI exit code it maps to.

The exit codes are part of the public contract (see docs/exit-codes.md); the run
statuses map onto them in :mod:`nbprod.records`.
"""

from __future__ import annotations


class NbprodError(Exception):
    """Base class: a failure with a one-line message meant for a person."""

    exit_code = 1


class BadInput(NbprodError):
    """The request is wrong (file, notebook, parameter, name, kernel); nothing ran."""

    exit_code = 2


class ParameterError(BadInput):
    """A parameter is unknown, mistyped or unparsable."""


class NotebookError(BadInput):
    """The notebook file is missing or is not a valid notebook."""


class InvalidName(BadInput):
    """A user-supplied name (job, file) is not safe to use as a store path."""


class KernelNotFound(BadInput):
    """No kernelspec with the requested name is installed."""


class FieldError(BadInput):
    """Bad input blamed on one field of a request (a form field, ``parameters.<name>``, a
    query argument), so a face can show the message next to that field without parsing
    it: the REST API answers 400 with ``field`` set."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(BadInput):
    """The job, run, notebook or file asked for does not exist (REST 404, exit 2)."""


class RunNotFound(NotFound):
    """No run with the given id exists in the store."""


class Conflict(BadInput):
    """The request clashes with the current state (a run already finished, a job that
    exists); the REST API answers 409."""


class StoreError(NbprodError):
    """The store could not be read or written."""

    exit_code = 5


class StoreUnavailable(StoreError):
    """The store did not answer (network, endpoint, permissions); worth retrying later."""


class CorruptObject(StoreError):
    """A content-addressed object's bytes do not hash to the name they are stored under.

    A StoreError (exit 5), not BadInput: the request was right, the store (or a local copy
    of one of its objects) holds damaged or tampered bytes, and nothing may run from them.
    """


class DeleteRefused(StoreError):
    """A run cannot be deleted whole (a link on its path, a mount point inside, no
    permission): nothing of it was deleted, store and catalog are as they were."""


class CorruptData(StoreError, ValueError):
    """A stored run record or notebook cannot be read (truncated, edited, not what nbprod
    wrote); retrying will not help. A ValueError too, for callers that skip bad records."""


class CatalogError(NbprodError):
    """The catalog database could not be opened, migrated or written."""

    exit_code = 6


def brief(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters: error messages stay one short line even
    when the bad value is a 10,000-character string."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
