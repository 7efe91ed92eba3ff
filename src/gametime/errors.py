"""The exceptions gametime raises.

Every error derives from one base, so callers can catch the package as a whole:

    GametimeError
    ├── InvalidInput            a value from outside (a parameter, a setting) is wrong
    │   ├── InvalidEvent        one event failed validation; the batch goes on
    │   └── ConfigurationError  a GAMETIME_ setting cannot be used
    └── BackendError            an external system failed
        └── BackendUnavailable  it could not be reached; retrying may succeed

A rejected event is not an exception by the time it leaves the domain: it becomes a
`Rejection` record that is stored with its reason, so one bad event never costs the
others of its batch.
"""

from __future__ import annotations


class GametimeError(Exception):
    """Base of every gametime error."""

    retryable: bool = False


class InvalidInput(GametimeError, ValueError):
    """A value supplied from outside is not acceptable.

    `field` names what was wrong (an event field, a query parameter, a setting) so
    that the message shown to a caller can point at it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidEvent(InvalidInput):
    """One event cannot be counted; `message` is the reason kept with it."""


class ConfigurationError(InvalidInput):
    """A setting is missing or malformed; raised at start-up."""


class BackendError(GametimeError):
    """An external system (database, broker, cache) failed an operation."""


class BackendUnavailable(BackendError):
    """The external system could not be reached; the operation may succeed later."""

    retryable = True
