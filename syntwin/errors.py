"""One exception family for everything a user of syntwin can get wrong.

Each error carries where it happened (file, row, field) and what to do about it, so the
CLI can print one line and exit with code 2 instead of a traceback.
"""

from __future__ import annotations


class SyntwinError(Exception):
    """Base of all user-facing syntwin errors.

    Args:
        message: What is wrong, in one sentence.
        file: The file the problem is in, if any.
        row: 1-based data row (header excluded) or line number, if any.
        field: Column or scenario field path (``graph.k``), if any.
        hint: What the user should do to fix it.
    """

    exit_code = 2
    #: How ``row`` is named in messages ("row" of a table, "line" of a text file).
    row_word = "row"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"{self.row_word} {self.row}")
        if self.field:
            where.append(self.field)
        text = (": ".join([", ".join(where), self.message]) if where else self.message).rstrip()
        if self.hint:
            text += f" (fix: {self.hint})"
        return text


class ScenarioError(SyntwinError, ValueError):
    """A scenario file is missing, malformed, or has unknown keys or bad values."""

    row_word = "line"


class CohortError(SyntwinError, ValueError):
    """A cohort file or table cannot be read or fails validation."""


class PrivacyGateError(SyntwinError):
    """Synthetic data failed one or more release checks; nothing was exported.

    Exit code 3, so that scripts can tell a refused release from a failed run (2) or a bug (1).
    """

    exit_code = 3

    def __init__(self, failures: list[str], **kwargs) -> None:
        self.failures = list(failures)
        super().__init__("privacy gate refused the release: " + "; ".join(failures), **kwargs)


class StageError(SyntwinError):
    """A pipeline stage failed on valid-looking input (e.g. too few rows for a model)."""


class OutputError(SyntwinError, OSError):
    """The output location cannot be written (unwritable directory, full disk)."""


__all__ = [
    "SyntwinError",
    "ScenarioError",
    "CohortError",
    "PrivacyGateError",
    "StageError",
    "OutputError",
]
