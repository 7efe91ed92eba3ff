"""Raw events held until their minute has closed, so a minute is archived at once.

A raw-event store that keeps a user's events of a minute in one row (Cassandra)
pays per row written, not per event. A live stream brings a player's heartbeats
one at a time, seconds apart, so a consumed batch holds about one event per row;
held until the minute is over, the same events fill each row in one write: for the
ten heartbeats of a minute, about a third of the cost of ten rows in one batch and
a twentieth of ten single-row requests (docs/architecture.md has the figures).

The processor counts every event at once and archives what this buffer releases.
It must not acknowledge a message before the archive holds its events, so the
buffer tracks, for each source partition, the first offset it still holds: the
processor commits no further. A crash loses the buffer, and the source replays
from the held offsets.

Events are held in slices by minute, source partition and a shard of users. A
slice closes when the newest event time seen on its partition (never ahead of the
clock) is `grace_us` past the minute's end, so stragglers usually join their row.
Each partition has its own clock because a consumer reads partitions unevenly,
often many seconds of event time apart; a user's events all come through one
partition when producers key by user, as the API does. An event later than that
lands in a minute already closed and is released at once, added to its row in a
small write of its own. A slice also closes when it has been held `max_hold_us` of
wall time, so a quiet stream is archived too. A closed minute goes out a few
slices at a time, which keeps each step of the processor short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gametime.domain.clock import Clock
from gametime.domain.events import Event

US_PER_MINUTE = 60_000_000
SHARDS = 16

Position = tuple[int, int]  # (partition, offset) of the message an event came in
SliceKey = tuple[int, int, int]  # (epoch minute, partition, shard of users)


@dataclass
class _Slice:
    held_since_us: int
    first_offset: int
    events: list[Event] = field(default_factory=list)

    def take(self, other: _Slice) -> None:
        self.held_since_us = min(self.held_since_us, other.held_since_us)
        self.first_offset = min(self.first_offset, other.first_offset)
        self.events += other.events


@dataclass(eq=False)
class Release:
    """Events to archive now; hand it back with `done` or `failed`."""

    slices: dict[SliceKey, _Slice]

    @property
    def events(self) -> list[Event]:
        return [event for held in self.slices.values() for event in held.events]


class RawEventBuffer:
    def __init__(
        self,
        clock: Clock,
        grace_us: int,
        max_hold_us: int,
        max_events: int,
    ) -> None:
        if grace_us < 0 or max_hold_us < 0 or max_events < 1:
            raise ValueError(
                "grace_us and max_hold_us must be 0 or more and max_events 1 or more,"
                f" got {grace_us!r}, {max_hold_us!r} and {max_events!r}"
            )
        self.clock = clock
        self.grace_us = grace_us
        self.max_hold_us = max_hold_us
        self.max_events = max_events
        self._slices: dict[SliceKey, _Slice] = {}
        self._held = 0  # events in _slices
        self._out: list[Release] = []  # released, not yet done or failed
        self._newest_us: dict[int, int] = {}  # partition -> newest event time seen

    def __len__(self) -> int:
        """Events held, those released but not yet archived included."""
        return self._held + sum(len(r.events) for r in self._out)

    def add(self, events: Sequence[Event], positions: Sequence[Position]) -> None:
        """Hold `events`; `positions[i]` is where `events[i]` was consumed from."""
        now_us = self.clock.now_us()
        slices = self._slices
        newest_us = self._newest_us
        for event, (partition, offset) in zip(events, positions, strict=True):
            instant_us = event.instant_us
            minute = instant_us // US_PER_MINUTE
            key = (minute, partition, hash(event.user_id) % SHARDS)
            held = slices.get(key)
            if held is None:
                held = slices[key] = _Slice(now_us, offset)
            elif offset < held.first_offset:
                held.first_offset = offset
            held.events.append(event)
            if instant_us > newest_us.get(partition, instant_us - 1):
                # Not past the clock: an event dated ahead (within the accepted
                # skew) must not close the minutes still being played.
                newest_us[partition] = min(instant_us, now_us)
        self._held += len(events)

    def release(self, at_least: int, everything: bool = False) -> Release:
        """Closed slices, oldest minute first, until `at_least` events or none left.

        Beyond `max_events` held, the oldest slices are released whether closed or
        not, until the buffer is back under the limit. With `everything`, every
        slice counts as closed.
        """
        closing_before = {
            partition: (newest_us - self.grace_us) // US_PER_MINUTE
            for partition, newest_us in self._newest_us.items()
        }
        held_before_us = self.clock.now_us() - self.max_hold_us
        over = self._held - self.max_events
        taken: dict[SliceKey, _Slice] = {}
        released = 0
        for key in sorted(self._slices):
            if released >= at_least and over <= 0:
                break
            minute, partition, _shard = key
            held = self._slices[key]
            closed = (
                everything
                or minute < closing_before[partition]
                or held.held_since_us <= held_before_us
            )
            if closed or over > 0:
                taken[key] = self._slices.pop(key)
                released += len(held.events)
                over -= len(held.events)
        return self._out_with(taken, released)

    def _out_with(self, taken: dict[SliceKey, _Slice], events: int) -> Release:
        self._held -= events
        release = Release(taken)
        if taken:
            self._out.append(release)
        return release

    def done(self, release: Release) -> None:
        """The archive holds the released events: forget them."""
        if release.slices:
            self._out.remove(release)

    def failed(self, release: Release) -> None:
        """The archive did not take them: hold them again, to release once more."""
        if release.slices:
            self._out.remove(release)
        for key, held in release.slices.items():
            kept = self._slices.get(key)
            if kept is None:
                self._slices[key] = held
            else:
                kept.take(held)
            self._held += len(held.events)

    def first_offsets(self) -> dict[int, int]:
        """Per partition, the first offset whose events are not yet archived."""
        firsts: dict[int, int] = {}
        for (_minute, partition, _shard), held in self._every_slice():
            if held.first_offset < firsts.get(partition, held.first_offset + 1):
                firsts[partition] = held.first_offset
        return firsts

    def _every_slice(self) -> list[tuple[SliceKey, _Slice]]:
        return [
            *self._slices.items(),
            *(item for release in self._out for item in release.slices.items()),
        ]
