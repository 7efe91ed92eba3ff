"""What an import read and made: counts, and the first few rows it could not use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# Examples kept per kind of problem: enough to fix a file, bounded for huge ones.
EXAMPLES_KEPT = 20


class SourcedEvent(NamedTuple):
    """An event in the reference shape and the source line it came from."""

    line: int
    item: object


class RowProblem(NamedTuple):
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    events: int = 0
    invalid_rows: int = 0
    invalid_examples: list[RowProblem] = field(default_factory=list)
    open_sessions: int = 0
    open_session_lines: list[int] = field(default_factory=list)

    def invalid(self, line: int, reason: str) -> None:
        self.invalid_rows += 1
        if len(self.invalid_examples) < EXAMPLES_KEPT:
            self.invalid_examples.append(RowProblem(line, reason))

    def open_session(self, line: int) -> None:
        self.open_sessions += 1
        if len(self.open_session_lines) < EXAMPLES_KEPT * 5:
            self.open_session_lines.append(line)
