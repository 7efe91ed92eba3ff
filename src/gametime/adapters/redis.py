"""Minute state and profiles in Redis, through the asyncio client.

Layout, chosen for Redis Cluster (all of a user's keys share the hash tag `{...}`)
and for memory (one small hash per active user-day):

    gt:{<user>}:<yyyy-mm-dd>   hash: game id -> packed minutes; "" -> the day's total
    gt:{<user>}:profile        hash: birth_date, minor

`<user>` is the id percent-encoded with no safe characters, so no id can contain a
brace, a colon or a space that would break the tag or collide with another id.
Packed minutes are the `domain.minutes.pack` form; the Lua script below ORs new
minutes into them on the server, so a write is idempotent and atomic per user-day.
Every write refreshes the day's TTL to the retention; nothing ever flushes keys.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from urllib.parse import quote

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gametime.domain.minutes import MinuteMarks, pack, unpack
from gametime.domain.profiles import Profile
from gametime.errors import BackendError, BackendUnavailable
from gametime.ports import DayUsage

logger = logging.getLogger(__name__)

TOTAL_FIELD = ""  # game ids are never empty, so the total cannot collide with one

# KEYS[1]: the user-day hash. ARGV[1]: TTL seconds, then pairs of field and packed
# minutes. Packed values are a 2-byte start offset and the bytes from there.
MERGE_SCRIPT = """
local function split(packed)
  return string.byte(packed, 1) * 256 + string.byte(packed, 2), string.sub(packed, 3)
end

local function union(old, new)
  local old_start, old_bytes = split(old)
  local new_start, new_bytes = split(new)
  local first = math.min(old_start, new_start)
  local last = math.max(old_start + #old_bytes, new_start + #new_bytes) - 1
  local out = {}
  for offset = first, last do
    local byte = 0
    local i = offset - old_start + 1
    if i >= 1 and i <= #old_bytes then byte = string.byte(old_bytes, i) end
    local j = offset - new_start + 1
    if j >= 1 and j <= #new_bytes then
      byte = bit.bor(byte, string.byte(new_bytes, j))
    end
    out[#out + 1] = string.char(byte)
  end
  return string.char(math.floor(first / 256), first % 256) .. table.concat(out)
end

for i = 2, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if old then
    redis.call('HSET', KEYS[1], ARGV[i], union(old, ARGV[i + 1]))
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 0
"""


def user_tag(user_id: str) -> str:
    return "{" + quote(user_id, safe="") + "}"


def day_key(user_id: str, day: date) -> str:
    return f"gt:{user_tag(user_id)}:{day.isoformat()}"


def profile_key(user_id: str) -> str:
    return f"gt:{user_tag(user_id)}:profile"


class RedisStore:
    """Implements MinuteStore and ProfileStore on one Redis (or Redis Cluster)."""

    def __init__(self, client: aioredis.Redis, retention_s: int) -> None:
        self.client = client
        self.retention_s = retention_s
        self._merge = client.register_script(MERGE_SCRIPT)

    @classmethod
    def from_url(
        cls,
        url: str,
        retention_s: int,
        password: str | None = None,
        username: str | None = None,
        ssl_ca_certs: str | None = None,
    ) -> RedisStore:
        """A store on `url`; a rediss:// URL connects with TLS."""
        options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5}
        if password is not None:
            options["password"] = password
        if username is not None:
            options["username"] = username
        if ssl_ca_certs is not None:
            options["ssl_ca_certs"] = ssl_ca_certs
        return cls(aioredis.Redis.from_url(url, **options), retention_s)

    async def close(self) -> None:
        await self.client.aclose()

    async def ping(self) -> None:
        await self._call(self.client.ping())

    async def mark_minutes(self, marks: MinuteMarks) -> None:
        fields: dict[str, list[bytes | str]] = {}
        for (user_id, day, game_id), minutes in marks.games.items():
            fields.setdefault(day_key(user_id, day), []).extend(
                (game_id, pack(minutes))
            )
        for (user_id, day), minutes in marks.totals.items():
            fields[day_key(user_id, day)].extend((TOTAL_FIELD, pack(minutes)))

        async with self.client.pipeline(transaction=False) as pipe:
            for key, pairs in fields.items():
                await self._merge(
                    keys=[key], args=[self.retention_s, *pairs], client=pipe
                )
            await self._call(pipe.execute())

    async def read_day(self, user_id: str, day: date) -> DayUsage:
        stored = await self._call(self.client.hgetall(day_key(user_id, day)))
        counts = {
            field.decode(): unpack(packed).bit_count()
            for field, packed in stored.items()
        }
        total = counts.pop(TOTAL_FIELD, 0)
        return DayUsage(total, dict(sorted(counts.items())))

    async def read_game(self, user_id: str, day: date, game_id: str) -> tuple[int, int]:
        game, total = await self._call(
            self.client.hmget(day_key(user_id, day), [game_id, TOTAL_FIELD])
        )
        return unpack(game).bit_count(), unpack(total).bit_count()

    async def read_packed(self, user_id: str, day: date) -> dict[str, bytes]:
        """The stored packed minutes of a user-day by field, for checks and rebuilds."""
        stored = await self._call(self.client.hgetall(day_key(user_id, day)))
        return {field.decode(): packed for field, packed in stored.items()}

    async def get_profile(self, user_id: str) -> Profile | None:
        stored = await self._call(self.client.hgetall(profile_key(user_id)))
        if not stored:
            return None
        birth_date = stored.get(b"birth_date")
        minor = stored.get(b"minor")
        return Profile(
            user_id,
            date.fromisoformat(birth_date.decode()) if birth_date else None,
            None if minor is None else minor == b"1",
        )

    async def put_profile(self, profile: Profile) -> None:
        items: list[str] = []
        if profile.birth_date is not None:
            items += ["birth_date", profile.birth_date.isoformat()]
        if profile.minor is not None:
            items += ["minor", "1" if profile.minor else "0"]
        key = profile_key(profile.user_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, items=items)
            await self._call(pipe.execute())

    async def _call(self, pending: Any) -> Any:
        # redis-py types its async commands loosely; results are checked by callers.
        try:
            return await pending
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise BackendUnavailable(f"Redis is unreachable: {exc}") from exc
        except RedisError as exc:
            raise BackendError(f"Redis failed: {exc}") from exc

    async def replace_day(self, user_id: str, day: date, marks: MinuteMarks) -> None:
        own = marks.of_user_day(user_id, day)
        items: list[str | bytes] = []
        for (_user, _day, game_id), minutes in own.games.items():
            items += [game_id, pack(minutes)]
        for minutes in own.totals.values():
            items += [TOTAL_FIELD, pack(minutes)]
        key = day_key(user_id, day)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if items:
                pipe.hset(key, items=items)
                pipe.expire(key, self.retention_s)
            await self._call(pipe.execute())
