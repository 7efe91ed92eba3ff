"""API keys with scopes, and a request rate limit per key.

Keys are configured as SHA-256 digests with their scopes (`GAMETIME_API_KEYS` or
`GAMETIME_API_KEYS_FILE`), so the configuration never holds a usable secret. A
request presents its key as `Authorization: Bearer KEY` or `X-API-Key: KEY`. A
missing or unknown key is a 401 and a key without the route's scope a 403, with no
detail about which keys exist.

With no key configured, `gametime serve` creates a local key with every scope and
prints it (see `local_key`), so a fresh install is never open to anyone.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from fastapi import Depends, HTTPException, Request, params

from gametime.settings import Settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "gt_"


class Scope(StrEnum):
    INGEST = "ingest"  # POST /v1/events
    READ = "read"  # play time, allowances, raw events
    ADMIN = "admin"  # profiles


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    sha256: str
    scopes: frozenset[Scope]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def local_key(path: Path) -> str:
    """The secret kept in `path` (mode 0600), created on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


@dataclass
class TokenBucket:
    """`rate` requests a second on average, bursts up to `burst`."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class KeyRing:
    """The configured keys, and each key's rate limit in this API process."""

    keys: dict[str, ApiKey]
    rate_per_second: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    @classmethod
    def of(cls, keys: Iterable[ApiKey], rate_per_second: float) -> KeyRing:
        return cls(
            {key.sha256: key for key in keys}, rate_per_second, 2 * rate_per_second
        )

    def authenticate(self, secret: str) -> ApiKey | None:
        return self.keys.get(digest(secret))

    def admit(self, key: ApiKey) -> bool:
        """Whether the key may make one more request now."""
        if self.rate_per_second <= 0:
            return True
        now = self.clock()
        bucket = self._buckets.get(key.name)
        if bucket is None:
            bucket = TokenBucket(self.rate_per_second, self.burst, self.burst, now)
            self._buckets[key.name] = bucket
        return bucket.take(now)


def presented_secret(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return request.headers.get("x-api-key") or None


def require(scope: Scope) -> Callable[[Request], Awaitable[None]]:
    """A dependency that lets a request through only with a key holding `scope`."""

    async def check(request: Request) -> None:
        keyring: KeyRing | None = request.app.state.keyring
        if keyring is None:
            return
        secret = presented_secret(request)
        key = keyring.authenticate(secret) if secret else None
        if key is None:
            raise HTTPException(
                401, "unauthorized", headers={"WWW-Authenticate": "Bearer"}
            )
        if scope not in key.scopes:
            raise HTTPException(403, "forbidden")
        if not keyring.admit(key):
            raise HTTPException(429, "too many requests", headers={"Retry-After": "1"})

    return check


def requires(scope: Scope) -> list[params.Depends]:
    """Route or router `dependencies=` for a scope."""
    return [Depends(require(scope))]


def keyring_from(settings: Settings) -> KeyRing | None:
    """The keys the API accepts; None only when auth is explicitly turned off."""
    if not settings.auth_required:
        logger.warning("GAMETIME_AUTH_REQUIRED=false: every route is open to anyone")
        return None
    keys = [
        ApiKey(spec.name, spec.sha256, frozenset(Scope(s) for s in spec.scopes))
        for spec in settings.configured_api_keys()
    ]
    if not keys:
        secret = local_key(settings.local_key_path)
        keys = [ApiKey("local", digest(secret), frozenset(Scope))]
        logger.info(
            "no API keys configured; using the local key in %s", settings.local_key_path
        )
    return KeyRing.of(keys, settings.rate_limit_per_second)
