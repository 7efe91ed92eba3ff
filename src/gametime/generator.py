"""A synthetic day of activity events in the reference shape, for demos and load.

Users play sessions of random length, each in one game under one of the user's
roles, and a game client sends one heartbeat a second while its user plays. Some
sessions run past local midnight into the next day, some events are sent twice
(exact duplicates) and some arrive late, behind newer ones, as over a real network.

Lines are built by concatenating strings: every id is generated here, so nothing
needs escaping, and the time text is formatted once per minute and shared by all
sessions active in it. Everything random is drawn from one `random.Random(seed)` in
a fixed order, so a seed fixes the output bytes.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gametime.domain.calendar import LocalCalendar
from gametime.domain.event_time import US_PER_SECOND
from gametime.errors import InvalidInput

logger = logging.getLogger(__name__)

# A session crossing midnight ends at most this long after it; the day's events
# therefore all lie before the next midnight plus this.
MAX_OVERFLOW_S = 2 * 3_600
MIN_SESSION_S = 60
MAX_SESSION_S = 4 * 3_600
MAX_LATE_S = 300
# Lines handed out per chunk: large enough that writing costs little per line.
CHUNK_LINES = 65_536
_SECONDS = [f"{second:02d}" for second in range(60)]


@dataclass(frozen=True, slots=True)
class DaySpec:
    """What to generate: `day` is a local day in `zone`."""

    users: int
    games: int
    day: date
    seed: int
    zone: ZoneInfo
    duplicate_rate: float = 0.001
    late_rate: float = 0.001
    cross_midnight_rate: float = 0.1
    max_sessions: int = 4
    mean_session_minutes: float = 40.0

    def __post_init__(self) -> None:
        _check_count("users", self.users)
        _check_count("games", self.games)
        _check_count("max_sessions", self.max_sessions)
        _check_rate("duplicate_rate", self.duplicate_rate)
        _check_rate("late_rate", self.late_rate)
        _check_rate("cross_midnight_rate", self.cross_midnight_rate)
        if not self.mean_session_minutes > 0:
            raise InvalidInput(
                "mean_session_minutes",
                f"{self.mean_session_minutes!r} is not a positive number of minutes",
            )


@dataclass(frozen=True, slots=True)
class Session:
    """Heartbeats every second of [start, end), epoch seconds."""

    head: str  # the JSON line up to the text of its event time
    start: int
    end: int


@dataclass
class GenerationStats:
    lines: int = 0
    duplicates: int = 0
    late: int = 0
    sessions: int = 0
    crossing_midnight: int = 0
    first_s: int = 0
    last_s: int = 0


def _check_count(name: str, value: int) -> None:
    if value < 1:
        raise InvalidInput(name, f"{value!r} is not a count of 1 or more")


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise InvalidInput(name, f"{value!r} is not a rate between 0 and 1")


def generate(spec: DaySpec, stats: GenerationStats | None = None) -> Iterator[str]:
    """The day's JSON lines, in chunks of many lines; `stats` is filled as it goes."""
    stats = stats if stats is not None else GenerationStats()
    rng = random.Random(spec.seed)
    sessions = plan_sessions(spec, rng, stats)
    if sessions:
        stats.first_s = sessions[0].start
        stats.last_s = max(session.end for session in sessions) - 1
    return _heartbeats(sessions, spec, rng, stats)


def plan_sessions(
    spec: DaySpec, rng: random.Random, stats: GenerationStats
) -> list[Session]:
    span = LocalCalendar(spec.zone).span(spec.day)
    start_s, end_s = span.start_us // US_PER_SECOND, span.end_us // US_PER_SECOND
    user_width, game_width = len(str(spec.users)), len(str(spec.games))
    sessions: list[Session] = []
    for number in range(1, spec.users + 1):
        user_id = f"user-{number:0{user_width}d}"
        roles = [f"{user_id}.r{k}" for k in range(1, rng.randint(1, 3) + 1)]
        for begin, end in _user_spans(spec, rng, start_s, end_s, stats):
            game_id = f"game-{rng.randrange(1, spec.games + 1):0{game_width}d}"
            head = (
                f'{{"user_id":"{user_id}","role_id":"{rng.choice(roles)}",'
                f'"game_id":"{game_id}","event_time":"'
            )
            sessions.append(Session(head, begin, end))
    sessions.sort(key=lambda session: (session.start, session.head))
    stats.sessions = len(sessions)
    return sessions


def _user_spans(
    spec: DaySpec,
    rng: random.Random,
    day_start: int,
    day_end: int,
    stats: GenerationStats,
) -> list[tuple[int, int]]:
    """One user's sessions, apart from each other, the last maybe past midnight."""
    crosses = rng.random() < spec.cross_midnight_rate
    limit = day_end - rng.randint(60, 3_600) if crosses else day_end
    starts = sorted(
        rng.randrange(day_start, limit)
        for _ in range(rng.randint(1, spec.max_sessions))
    )
    spans: list[tuple[int, int]] = []
    free = day_start
    for start in starts:
        begin = max(start, free)
        if begin >= limit:
            break
        end = min(begin + _session_length(spec, rng), limit)
        spans.append((begin, end))
        free = end + 30
    if crosses:
        stats.crossing_midnight += 1
        spans.append((max(limit, free), day_end + rng.randint(60, MAX_OVERFLOW_S)))
    return spans


def _session_length(spec: DaySpec, rng: random.Random) -> int:
    drawn = int(rng.expovariate(1.0 / (spec.mean_session_minutes * 60)))
    return max(MIN_SESSION_S, min(MAX_SESSION_S, drawn))


def _heartbeats(
    sessions: list[Session], spec: DaySpec, rng: random.Random, stats: GenerationStats
) -> Iterator[str]:
    """Sweep the day second by second, sending a line per active session."""
    if not sessions:
        return
    ends = {session.end for session in sessions}
    last = max(ends)
    sender = _Sender(spec, rng, stats)
    minute = _MinuteText(spec.zone)
    active: list[Session] = []
    upcoming, second = 0, sessions[0].start
    while second < last or sender.holding():
        while upcoming < len(sessions) and sessions[upcoming].start == second:
            active.append(sessions[upcoming])
            upcoming += 1
        if active:
            tail = minute.tail(second)
            for session in active:
                sender.send(session.head + tail, second)
        sender.release(second)
        second += 1
        if second in ends:
            active = [session for session in active if session.end > second]
        if not active and not sender.holding() and upcoming < len(sessions):
            second = sessions[upcoming].start  # skip the idle stretch at once
        if sender.pending() >= CHUNK_LINES:
            yield sender.take()
    if sender.pending():
        yield sender.take()


class _Sender:
    """Sends each line once, sometimes twice (a duplicate), sometimes late."""

    def __init__(
        self, spec: DaySpec, rng: random.Random, stats: GenerationStats
    ) -> None:
        self.rng = rng
        self.draw = rng.random
        self.duplicate_rate = spec.duplicate_rate
        self.late_rate = spec.late_rate
        self.stats = stats
        self.lines: list[str] = []
        self.late: list[tuple[int, int, str]] = []  # (release second, number, line)

    def send(self, line: str, second: int) -> None:
        copies = 1
        if self.draw() < self.duplicate_rate:
            copies = 2
            self.stats.duplicates += 1
        for _ in range(copies):
            if self.draw() < self.late_rate:
                release = second + self.rng.randint(1, MAX_LATE_S)
                heapq.heappush(self.late, (release, self.stats.late, line))
                self.stats.late += 1
            else:
                self.lines.append(line)

    def release(self, second: int) -> None:
        """Send the late lines whose time has come."""
        while self.late and self.late[0][0] <= second:
            self.lines.append(heapq.heappop(self.late)[2])

    def holding(self) -> bool:
        return bool(self.late)

    def pending(self) -> int:
        return len(self.lines)

    def take(self) -> str:
        self.stats.lines += len(self.lines)
        text = "".join(self.lines)
        self.lines.clear()
        return text


class _MinuteText:
    """The text of an event time after its second digits, formatted once a minute.

    Every offset in use today is a whole number of minutes, so the local seconds
    digits are the epoch seconds modulo 60.
    """

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.minute = -1
        self.prefix = ""
        self.suffix = ""

    def tail(self, second: int) -> str:
        minute = second // 60
        if minute != self.minute:
            text = datetime.fromtimestamp(minute * 60, self.zone).isoformat()
            self.minute, self.prefix, self.suffix = minute, text[:17], text[19:]
        return f'{self.prefix}{_SECONDS[second % 60]}{self.suffix}"}}\n'


def latest_past_day(zone: ZoneInfo, now_us: int) -> date:
    """The latest local day whose events, midnight overflow included, are all past."""
    calendar = LocalCalendar(zone)
    day = calendar.today(now_us) - timedelta(days=1)
    while reaches_future(day, zone, now_us):
        day -= timedelta(days=1)
    return day


def reaches_future(day: date, zone: ZoneInfo, now_us: int) -> bool:
    """Whether a generated `day` may hold events after `now_us`."""
    end_us = LocalCalendar(zone).span(day).end_us
    return end_us + MAX_OVERFLOW_S * US_PER_SECOND > now_us
