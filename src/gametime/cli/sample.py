"""`gametime sample`: load a small sample of today's play, so a new user has data."""

from __future__ import annotations

SAMPLE_USER = "user-0001"
SAMPLE_GAME = "game-1"
