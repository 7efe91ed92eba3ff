"""Event parsing under hostile input: random bytes, huge numbers, odd unicode, deep
JSON. Every body ends as an error of the whole body or as events and rejections
that account for every item; no other exception escapes and no reason grows with
the input.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gametime.domain.batch import ParsedBatch, parse_items, split_body
from gametime.domain.clock import FixedClock
from gametime.domain.events import EventParser
from gametime.errors import InvalidInput
from gametime.settings import load_settings

NOW_US = 1_721_200_000_000_000
PARSER = EventParser(load_settings().zone, FixedClock(NOW_US), 300)
MAX_REASON = 400

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "user_id": json_values,
        "game_id": json_values,
        "role_id": json_values,
        "event_time": json_values | st.text(alphabet="0123456789-:T .Z+", max_size=40),
    },
)


def outcome(body: bytes) -> ParsedBatch | None:
    """The parsed batch, or None when the body as a whole is refused."""
    try:
        items = split_body(body, max_items=10_000)
    except InvalidInput:
        return None
    batch = parse_items(items, PARSER, NOW_US)
    assert len(batch.events) + len(batch.rejections) == len(items)
    assert all(len(r.reason) <= MAX_REASON for r in batch.rejections)
    return batch


@given(st.binary(max_size=2_000))
@settings(max_examples=400)
def test_random_bytes_never_raise_anything_else(body: bytes) -> None:
    outcome(body)


@given(st.lists(event_like | json_values, max_size=20))
@settings(max_examples=400)
def test_random_json_items_are_each_an_event_or_a_rejection(
    items: list[object],
) -> None:
    # The standard encoder: orjson refuses integers past 64 bits, clients may not.
    outcome(json.dumps(items).encode())
    outcome(b"\n".join(json.dumps(item).encode() for item in items))


@given(st.integers(min_value=1, max_value=200_000))
@settings(max_examples=30)
def test_deep_json_is_refused_as_a_body_or_item(depth: int) -> None:
    outcome(b"[" * depth + b"]" * depth)
    outcome(b'{"a":' * depth + b"1" + b"}" * depth)


def test_huge_values_get_short_reasons() -> None:
    huge = {
        "user_id": "u" * 1_000_000,
        "game_id": "g",
        "event_time": "2024-07-17T10:00:00." + "9" * 1_000_000,  # too long to keep
    }
    body = [huge, {**huge, "user_id": "u"}, {"user_id": "u", "event_time": 10**30}]
    batch = outcome(json.dumps(body).encode())

    assert batch is not None
    assert len(batch.rejections) == 3
