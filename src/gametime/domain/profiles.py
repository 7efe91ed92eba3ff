"""User profiles: what the policy needs to know about a user, and minor status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gametime.errors import InvalidInput

ADULT_AGE = 18


@dataclass(frozen=True, slots=True)
class Profile:
    """A birth date, or an explicit minor flag when the birth date is unknown."""

    user_id: str
    birth_date: date | None = None
    minor: bool | None = None

    def __post_init__(self) -> None:
        if (self.birth_date is None) == (self.minor is None):
            raise InvalidInput(
                "profile", "give exactly one of birth_date and minor, not both or none"
            )

    def is_minor_on(self, day: date) -> bool:
        """Minor status on a given local day: an 18th birthday changes it."""
        if self.birth_date is None:
            return bool(self.minor)
        return day < adulthood(self.birth_date)


def adulthood(birth_date: date) -> date:
    """The day a person turns 18.

    Someone born on 29 February comes of age on 1 March in a common year: the later
    of the two readings, so no minor is treated as an adult a day early.
    """
    try:
        return birth_date.replace(year=birth_date.year + ADULT_AGE)
    except ValueError:
        return date(birth_date.year + ADULT_AGE, 3, 1)
