"""Minute state and profiles in Redis, through the asyncio client.

Layout, chosen for Redis Cluster (all of a user's keys share the hash tag `{...}`)
and for memory (one small hash per active user-day):

    gt:{<user>}:<yyyy-mm-dd>   hash: game id -> packed minutes; "" -> the day's total
    gt:{<user>}:profile        hash: birth_date, minor
    gt:{meta}:processors:<group>  hash: member -> "<lag> <reported at, us>"
    gt:{meta}:state-mark       the mark that tells lost state (see ports.StateMarker)

`<user>` is the id percent-encoded with no safe characters, so no id can contain a
brace, a colon or a space that would break the tag or collide with another id.
Packed minutes are the `domain.minutes.pack` form; the Lua script below ORs new
minutes into them on the server, so a write is idempotent and atomic per user-day.
Every write refreshes the day's TTL to the retention; nothing ever flushes keys.
Fields whose minutes this process already wrote are not sent again (see
`written_minutes`): most heartbeats repeat a minute already stored.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any
from urllib.parse import quote

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gametime.adapters.written_minutes import WrittenMinutes
from gametime.domain.minutes import MinuteMarks, pack, unpack
from gametime.domain.profiles import Profile
from gametime.errors import BackendError, BackendUnavailable
from gametime.ports import DayUsage, ProcessorReport

logger = logging.getLogger(__name__)

TOTAL_FIELD = ""  # game ids are never empty, so the total cannot collide with one
# User-days merged by one script call: enough to make the call's own cost small,
# few enough that Redis is never blocked for more than about a millisecond.
MERGE_KEYS_PER_CALL = 256

# KEYS: user-day hashes. ARGV[1]: TTL seconds; ARGV[1 + k]: how many fields KEYS[k]
# gets; then the pairs of field and packed minutes, key after key. Packed values are
# a 2-byte start offset and the bytes from there. One call merges many user-days
# because the per-command cost, not the merge, is what a busy processor pays for.
# TODO(#3): on Redis Cluster the keys of one call must share a slot; group them so.
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

local at = #KEYS + 2
for k = 1, #KEYS do
  local key = KEYS[k]
  local count = tonumber(ARGV[k + 1])
  local fields = {}
  for i = 1, count do fields[i] = ARGV[at + 2 * i - 2] end
  local old = redis.call('HMGET', key, unpack(fields))
  local merged = {}
  for i = 1, count do
    local new = ARGV[at + 2 * i - 1]
    merged[2 * i - 1] = fields[i]
    merged[2 * i] = old[i] and union(old[i], new) or new
  end
  redis.call('HSET', key, unpack(merged))
  redis.call('EXPIRE', key, ARGV[1])
  at = at + 2 * count
end
return #KEYS
"""


# What percent-encoding never changes; most ids are only that, and checking is
# cheaper than encoding.
_UNQUOTED = re.compile(r"[A-Za-z0-9_.~-]+")


STATE_MARK_KEY = "gt:{meta}:state-mark"
PROCESSOR_REPORTS_TTL_S = 86_400  # a group that stopped for a day leaves no trace


def processors_key(group: str) -> str:
    return f"gt:{{meta}}:processors:{quote(group, safe='')}"


def user_tag(user_id: str) -> str:
    if _UNQUOTED.fullmatch(user_id):
        return "{" + user_id + "}"
    return "{" + quote(user_id, safe="") + "}"


def day_key(user_id: str, day: date) -> str:
    return f"gt:{user_tag(user_id)}:{day.isoformat()}"


def profile_key(user_id: str) -> str:
    return f"gt:{user_tag(user_id)}:profile"


class RedisStore:
    """Implements MinuteStore and ProfileStore on one Redis (or Redis Cluster)."""

    def __init__(
        self,
        client: aioredis.Redis,
        retention_s: int,
        written: WrittenMinutes | None = None,
    ) -> None:
        self.client = client
        self.retention_s = retention_s
        self.written = WrittenMinutes() if written is None else written
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
        """Merge the marks, sending only fields with minutes not yet written."""
        written = self.written
        written.forget_if_old()
        games = written.unwritten(marks.games.items())
        fields: dict[tuple[str, date], list[bytes | str]] = {}
        for (user_id, day, game_id), minutes in games:
            fields.setdefault((user_id, day), []).extend((game_id, pack(minutes)))
        # A total only holds its games' minutes, and every game minute written is
        # in the total too (one script call writes both): a user-day without new
        # game minutes has no new total minutes, and needs no look-up.
        totals = written.unwritten(
            ((*user_day, TOTAL_FIELD), minutes)
            for user_day, minutes in marks.totals.items()
            if user_day in fields
        )
        for (user_id, day, _), minutes in totals:
            fields[(user_id, day)].extend((TOTAL_FIELD, pack(minutes)))
        if not fields:
            return
        try:
            await self._merge_fields(fields)
        except BackendError:
            written.forget()
            raise
        written.remember(games)
        written.remember(totals)

    async def _merge_fields(
        self, fields: dict[tuple[str, date], list[bytes | str]]
    ) -> None:
        user_days = list(fields.items())
        async with self.client.pipeline(transaction=False) as pipe:
            for start in range(0, len(user_days), MERGE_KEYS_PER_CALL):
                chunk = user_days[start : start + MERGE_KEYS_PER_CALL]
                counts = [len(pairs) // 2 for _, pairs in chunk]
                await self._merge(
                    keys=[day_key(user_id, day) for (user_id, day), _ in chunk],
                    args=[
                        self.retention_s,
                        *counts,
                        *(item for _, pairs in chunk for item in pairs),
                    ],
                    client=pipe,
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
        # A replaced day may lose minutes this process remembers writing.
        self.written.forget()
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

    # -- processor reports and the state mark --------------------------------------

    async def report_processor(self, group: str, report: ProcessorReport) -> None:
        key = processors_key(group)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(key, report.member, f"{report.lag} {report.at_us}")
            pipe.expire(key, PROCESSOR_REPORTS_TTL_S)
            await self._call(pipe.execute())

    async def processor_reports(self, group: str) -> list[ProcessorReport]:
        stored = await self._call(self.client.hgetall(processors_key(group)))
        reports = []
        for member, value in stored.items():
            lag, at_us = value.split()
            reports.append(ProcessorReport(member.decode(), int(lag), int(at_us)))
        return reports

    async def state_mark(self) -> str | None:
        mark = await self._call(self.client.get(STATE_MARK_KEY))
        return mark.decode() if mark is not None else None

    async def set_state_mark(self, mark: str) -> None:
        await self._call(self.client.set(STATE_MARK_KEY, mark))
