"""The memory of minutes already written, which spares repeats a second write."""

from __future__ import annotations

from datetime import date

import pytest

from gametime.adapters.written_minutes import FieldKey, WrittenMinutes

DAY = date(2024, 7, 17)
GAME: FieldKey = ("u1", DAY, "g1")
OTHER: FieldKey = ("u2", DAY, "g1")


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_only_marks_with_an_unwritten_minute_are_returned() -> None:
    written = WrittenMinutes()
    written.remember([(GAME, 0b0110)])
    marks = [(GAME, 0b0010), (GAME, 0b0011), (OTHER, 0b0010)]
    assert written.unwritten(marks) == [(GAME, 0b0011), (OTHER, 0b0010)]


def test_remembered_minutes_add_up() -> None:
    written = WrittenMinutes()
    written.remember([(GAME, 0b01), (GAME, 0b10)])
    assert written.unwritten([(GAME, 0b11)]) == []
    assert len(written) == 1


def test_everything_is_forgotten_once_old() -> None:
    ticks = Ticks()
    written = WrittenMinutes(max_age_s=30, clock=ticks)
    written.remember([(GAME, 1)])
    ticks.now = 29.9
    written.forget_if_old()
    assert written.unwritten([(GAME, 1)]) == []
    ticks.now = 30.0
    written.forget_if_old()
    assert written.unwritten([(GAME, 1)]) == [(GAME, 1)]


def test_a_zero_age_memory_never_spares_a_write() -> None:
    written = WrittenMinutes(max_age_s=0)
    written.remember([(GAME, 1)])
    written.forget_if_old()
    assert written.unwritten([(GAME, 1)]) == [(GAME, 1)]


def test_a_full_memory_starts_again_rather_than_grow() -> None:
    written = WrittenMinutes(max_fields=2)
    written.remember([(GAME, 1), (OTHER, 1), (("u3", DAY, "g1"), 1)])
    assert len(written) == 1
    assert written.unwritten([(GAME, 1)]) == [(GAME, 1)]


def test_negative_bounds_are_refused_with_the_values() -> None:
    with pytest.raises(ValueError, match=r"got -1 and 5"):
        WrittenMinutes(max_age_s=-1, max_fields=5)
