"""The Cassandra store's memory of the day_users rows it has written."""

from __future__ import annotations

from datetime import date

from gametime.adapters.cassandra import RememberedPairs

DAY = date(2024, 7, 17)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_written_pairs_are_not_sent_again_and_repeats_count_once() -> None:
    pairs = RememberedPairs(capacity=10, clock=Clock())
    assert pairs.unknown([(DAY, "a"), (DAY, "b"), (DAY, "a")]) == [
        (DAY, "a"),
        (DAY, "b"),
    ]
    pairs.remember([(DAY, "a")])  # b's write failed: not remembered
    assert pairs.unknown([(DAY, "a"), (DAY, "b")]) == [(DAY, "b")]


def test_everything_is_forgotten_when_full_or_old() -> None:
    clock = Clock()
    pairs = RememberedPairs(capacity=2, max_age_s=60, clock=clock)
    pairs.remember([(DAY, "a"), (DAY, "b")])
    pairs.remember([(DAY, "c")])  # full: starts over
    assert pairs.unknown([(DAY, "a"), (DAY, "c")]) == [(DAY, "a")]

    clock.now = 60  # an hour by default: the row's TTL is renewed
    assert pairs.unknown([(DAY, "c")]) == [(DAY, "c")]
