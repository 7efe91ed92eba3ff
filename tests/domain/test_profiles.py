"""Profiles and minor status on a given local day."""

from __future__ import annotations

from datetime import date

import pytest

from gametime.domain.profiles import Profile, adulthood
from gametime.errors import InvalidInput


def test_day_before_18th_birthday_is_still_a_minor() -> None:
    profile = Profile("u", birth_date=date(2006, 7, 17))
    assert profile.is_minor_on(date(2024, 7, 16))


def test_on_18th_birthday_is_an_adult() -> None:
    profile = Profile("u", birth_date=date(2006, 7, 17))
    assert not profile.is_minor_on(date(2024, 7, 17))
    assert not profile.is_minor_on(date(2030, 1, 1))


def test_child_is_a_minor() -> None:
    assert Profile("u", birth_date=date(2015, 1, 1)).is_minor_on(date(2024, 7, 17))


@pytest.mark.parametrize(
    ("birth", "comes_of_age"),
    [
        (date(2004, 2, 29), date(2022, 3, 1)),
        (date(2008, 2, 29), date(2026, 3, 1)),
        (date(2006, 2, 28), date(2024, 2, 28)),
        (date(2006, 3, 1), date(2024, 3, 1)),
    ],
)
def test_adulthood_is_the_18th_birthday_or_1_march_for_29_february(
    birth: date, comes_of_age: date
) -> None:
    assert adulthood(birth) == comes_of_age


def test_born_29_february_is_a_minor_on_28_february_of_a_common_year() -> None:
    profile = Profile("u", birth_date=date(2004, 2, 29))
    assert profile.is_minor_on(date(2022, 2, 28))
    assert not profile.is_minor_on(date(2022, 3, 1))


@pytest.mark.parametrize("leap_year", [1996, 2000, 2004, 2008, 2012, 2016, 2020])
def test_born_29_february_always_comes_of_age_on_1_march(leap_year: int) -> None:
    # A leap year plus 18 is never a leap year, so there is no 29 February then.
    assert adulthood(date(leap_year, 2, 29)) == date(leap_year + 18, 3, 1)


@pytest.mark.parametrize("minor", [True, False])
def test_explicit_minor_flag_is_the_status_on_any_day(minor: bool) -> None:
    profile = Profile("u", minor=minor)
    assert profile.is_minor_on(date(2024, 7, 17)) is minor
    assert profile.is_minor_on(date(1999, 1, 1)) is minor


@pytest.mark.parametrize(
    "fields",
    [{}, {"birth_date": date(2010, 1, 1), "minor": True}, {"minor": None}],
)
def test_profile_needs_exactly_one_of_birth_date_and_minor(
    fields: dict[str, object],
) -> None:
    with pytest.raises(InvalidInput) as caught:
        Profile("u", **fields)  # type: ignore[arg-type]
    assert caught.value.field == "profile"
