"""What a minute store has already been given, so repeats need not be sent again.

A client sends about ten heartbeats per active minute, so most of a batch's marks
only repeat minutes that an earlier batch already merged into the store. A store
whose merge is a bitwise OR keeps every merged bit until the day expires, so a
minute remembered here is in the store, and writing it again would change nothing.

The one exception is a store that loses acknowledged writes (Redis crashing within
its AOF fsync second, or restarting without persistence). The memory is therefore
short: it is forgotten `max_age_s` after it started and on any failed write, so a
minute lost that way is restored by its next repeat after that, as it would be
without this memory. Each process has its own; nothing is shared or persisted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date

from gametime.domain.minutes import MinuteSet

FieldKey = tuple[str, date, str]  # (user_id, day, game id or the total's field)


class WrittenMinutes:
    def __init__(
        self,
        max_age_s: float = 30.0,
        max_fields: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_age_s < 0 or max_fields < 0:
            raise ValueError(
                f"max_age_s and max_fields must be 0 or more, got {max_age_s!r} "
                f"and {max_fields!r}"
            )
        self.max_age_s = max_age_s
        self.max_fields = max_fields
        self.clock = clock
        self._fields: dict[FieldKey, MinuteSet] = {}
        self._since = clock()

    def __len__(self) -> int:
        return len(self._fields)

    def unwritten(
        self, marks: Iterable[tuple[FieldKey, MinuteSet]]
    ) -> list[tuple[FieldKey, MinuteSet]]:
        """The marks holding a minute not yet written to their field."""
        known = self._fields.get
        return [(key, minutes) for key, minutes in marks if minutes & ~known(key, 0)]

    def remember(self, written: Iterable[tuple[FieldKey, MinuteSet]]) -> None:
        """Note marks the store has acknowledged."""
        fields = self._fields
        for key, minutes in written:
            if len(fields) >= self.max_fields:
                self.forget()
            fields[key] = fields.get(key, 0) | minutes

    def forget(self) -> None:
        self._fields.clear()
        self._since = self.clock()

    def forget_if_old(self) -> None:
        if self.clock() - self._since >= self.max_age_s:
            self.forget()
