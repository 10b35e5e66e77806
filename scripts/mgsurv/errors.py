"""The one exception users see: a named, fixable problem with their input or config.

Rule scripts and the CLI catch :class:`InputError` and print its message (never a
traceback), so every message must say which file, which column, which rows and how to
fix it.
"""

from __future__ import annotations

from collections.abc import Sequence

# How every input error's message starts (the workflow finds failed cohorts' messages by it).
INPUT_ERROR_MARK = "mgsurv: input error:"
MAX_ROWS_SHOWN = 10


def format_rows(rows: Sequence[int]) -> str:
    """Render row numbers compactly: '2, 5, 9 and 14 more'."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    hidden = len(rows) - MAX_ROWS_SHOWN
    return f"{shown} and {hidden} more" if hidden > 0 else shown


class InputError(Exception):
    """A problem in the user's cohort file, mapping or config, with the fix."""

    def __init__(
        self,
        problem: str,
        *,
        fix: str,
        file: str | None = None,
        column: str | None = None,
        rows: Sequence[int] = (),
    ) -> None:
        self.problem = problem
        self.fix = fix
        self.file = file
        self.column = column
        self.rows = list(rows)
        super().__init__(self.message())

    def message(self) -> str:
        """The full user-facing message, one fact per line."""
        lines = [f"{INPUT_ERROR_MARK} {self.problem}"]
        if self.file:
            lines.append(f"  file:   {self.file}")
        if self.column:
            lines.append(f"  column: {self.column}")
        if self.rows:
            lines.append(
                f"  rows:   {format_rows(self.rows)} (line numbers in the file, the header"
                f" is line 1; {len(self.rows)} in all)"
            )
        lines.append(f"  fix:    {self.fix}")
        return "\n".join(lines)
