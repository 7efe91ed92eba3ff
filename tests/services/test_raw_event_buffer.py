"""The raw-event buffer: what it holds, when it lets go, and which offsets it pins."""

from __future__ import annotations

from datetime import date

import pytest

from gametime.domain.clock import FixedClock
from gametime.domain.events import Event
from gametime.services.raw_event_buffer import RawEventBuffer

MINUTE_US = 60_000_000
START_US = 1_721_192_400 * 1_000_000  # 2024-07-17 12:00 +07:00, a whole minute
DAY = date(2024, 7, 17)
GRACE_US = 10_000_000


def at(minute: int, second: float = 0, user: str = "u") -> Event:
    instant = START_US + minute * MINUTE_US + int(second * 1_000_000)
    return Event(user, "g", "r", instant, str(instant))


def minutes_of(events: list[Event]) -> list[int]:
    return sorted({(e.instant_us - START_US) // MINUTE_US for e in events})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_US + 3_600 * 1_000_000)  # an hour after the events


def buffer_of(clock: FixedClock, max_events: int = 1_000) -> RawEventBuffer:
    return RawEventBuffer(
        clock, grace_us=GRACE_US, max_hold_us=80 * 1_000_000, max_events=max_events
    )


def test_an_open_minute_is_held_and_pins_its_first_offsets(clock: FixedClock) -> None:
    buffer = buffer_of(clock)
    buffer.add([at(0, 5), at(0, 1, "v"), at(0, 30)], [(0, 7), (1, 3), (0, 9)])

    assert buffer.release(at_least=100).events == []
    assert len(buffer) == 3
    assert buffer.first_offsets() == {0: 7, 1: 3}


def test_a_minute_closes_once_events_are_the_grace_past_its_end(
    clock: FixedClock,
) -> None:
    buffer = buffer_of(clock)
    users = [f"user{n}" for n in range(200)]  # spread over every shard
    buffer.add([at(0, 30, u) for u in users], [(0, n) for n in range(200)])
    buffer.add([at(1, 9.9)], [(0, 200)])
    assert buffer.release(at_least=1_000).events == []  # 9.9 s past: not yet

    buffer.add([at(1, 10)], [(0, 201)])
    release = buffer.release(at_least=1_000)

    assert minutes_of(release.events) == [0]
    assert len(release.events) == 200
    assert buffer.first_offsets() == {0: 0}  # pinned until the archive holds it
    buffer.done(release)
    assert buffer.first_offsets() == {0: 200}
    assert len(buffer) == 2


def test_each_partition_closes_minutes_by_its_own_event_times(
    clock: FixedClock,
) -> None:
    buffer = buffer_of(clock)
    buffer.add([at(0, 30, "p0"), at(0, 40, "p1")], [(0, 1), (1, 1)])
    buffer.add([at(4)], [(0, 2)])  # partition 0 is read minutes ahead of 1

    assert buffer.release(at_least=10).events == [at(0, 30, "p0")]
    buffer.add([at(0, 50, "p1"), at(1, 10)], [(1, 2), (1, 3)])
    assert buffer.release(at_least=10).events == [at(0, 40, "p1"), at(0, 50, "p1")]


def test_event_times_ahead_of_the_clock_close_nothing(clock: FixedClock) -> None:
    buffer = buffer_of(clock)
    clock.set(START_US + 30 * 1_000_000)
    buffer.add([at(0, 20), at(5)], [(0, 1), (0, 2)])  # the second is 5 min ahead

    assert buffer.release(at_least=10).events == []


def test_a_minute_held_too_long_is_released_without_newer_events(
    clock: FixedClock,
) -> None:
    buffer = buffer_of(clock)
    buffer.add([at(0, 20)], [(0, 1)])
    clock.advance(79)
    assert buffer.release(at_least=10).events == []

    clock.advance(1)
    assert minutes_of(buffer.release(at_least=10).events) == [0]


def test_a_late_event_of_a_closed_minute_goes_out_at_once(clock: FixedClock) -> None:
    buffer = buffer_of(clock)
    buffer.add([at(0, 5), at(3)], [(0, 1), (0, 2)])
    buffer.done(buffer.release(at_least=10))

    buffer.add([at(0, 50)], [(0, 3)])
    assert buffer.release(at_least=10).events == [at(0, 50)]


def test_releases_stop_once_enough_events_are_out(clock: FixedClock) -> None:
    buffer = buffer_of(clock)
    buffer.add([at(m, 1) for m in range(5)], [(0, m) for m in range(5)])

    first = buffer.release(at_least=2)
    assert minutes_of(first.events) == [0, 1]  # oldest first
    # Minute 3 ends at 4:00 and waits until 4:10; the newest event is at 4:01.
    assert minutes_of(buffer.release(at_least=2).events) == [2]
    assert buffer.first_offsets() == {0: 0}


def test_beyond_its_limit_the_oldest_go_out_though_open(clock: FixedClock) -> None:
    buffer = buffer_of(clock, max_events=3)
    clock.set(START_US)
    buffer.add([at(0, 1), at(0, 2), at(1, 1), at(1, 2)], [(0, n) for n in range(4)])

    release = buffer.release(at_least=0)
    assert minutes_of(release.events) == [0]
    assert len(buffer) == 4  # still counted until done
    buffer.done(release)
    assert len(buffer) == 2


def test_a_failed_release_is_held_again_with_its_offsets(clock: FixedClock) -> None:
    buffer = buffer_of(clock)
    buffer.add([at(0, 1), at(2)], [(0, 4), (0, 5)])
    release = buffer.release(at_least=10)
    buffer.add([at(0, 40)], [(0, 6)])  # joins minute 0 while it is out

    buffer.failed(release)
    assert buffer.first_offsets() == {0: 4}
    again = buffer.release(at_least=10)
    assert sorted(e.instant_us for e in again.events) == [
        at(0, 1).instant_us,
        at(0, 40).instant_us,
    ]


def test_everything_goes_out_open_or_not_in_pieces(clock: FixedClock) -> None:
    buffer = buffer_of(clock)
    buffer.add([at(0, 1), at(9), at(9, 30)], [(0, 1), (2, 8), (2, 9)])

    first = buffer.release(at_least=1, everything=True)
    assert minutes_of(first.events) == [0]
    buffer.done(first)
    assert buffer.first_offsets() == {2: 8}
    rest = buffer.release(at_least=1, everything=True)
    assert minutes_of(rest.events) == [9]
    buffer.done(rest)

    assert len(buffer) == 0
    assert buffer.first_offsets() == {}


def test_bad_limits_are_refused(clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="max_events"):
        RawEventBuffer(clock, grace_us=0, max_hold_us=0, max_events=0)
