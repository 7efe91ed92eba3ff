"""Who played what in a row: the user, game and role ids of its events.

Each id comes from a column or is one constant for the whole file; the game must
come from one of the two because events cannot be counted without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gametime.errors import InvalidInput
from gametime.importers.records import Record, text_value


@dataclass(frozen=True, slots=True)
class Identity:
    user_column: str
    game_column: str | None = None
    game: str | None = None
    role_column: str | None = None
    role: str | None = None
    user_prefix: str = ""

    def __post_init__(self) -> None:
        if (self.game_column is None) == (self.game is None):
            raise InvalidInput(
                "game",
                "give exactly one of --game-column COLUMN and --game GAME_ID, "
                f"got column {self.game_column!r} and id {self.game!r}",
            )
        if self.role_column is not None and self.role is not None:
            raise InvalidInput(
                "role",
                f"give --role-column or --role, not both "
                f"(got {self.role_column!r} and {self.role!r})",
            )

    def columns(self) -> list[str]:
        named = [self.user_column, self.game_column, self.role_column]
        return [column for column in named if column is not None]

    def of(self, record: Record) -> dict[str, object]:
        """The ids as event fields; raises InvalidInput on an empty user or game."""
        user = _required(record, self.user_column)
        ids: dict[str, object] = {"user_id": self.user_prefix + user}
        role = text_value(record, self.role_column) if self.role_column else self.role
        if role:
            ids["role_id"] = role
        ids["game_id"] = (
            _required(record, self.game_column) if self.game_column else self.game
        )
        return ids


def _required(record: Record, column: str) -> str:
    value = text_value(record, column)
    if not value:
        raise InvalidInput(column, "is empty; every row needs a value here")
    return value
