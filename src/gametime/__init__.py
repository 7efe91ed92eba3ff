"""gametime: distinct-minute play-time tracking and enforcement for game operators."""

__version__ = "0.1.0"
