"""The Cassandra store's own encoding of a minute's events, against the driver's."""

from __future__ import annotations

from cassandra.cqltypes import LongType, MapType, TupleType, UTF8Type
from hypothesis import given
from hypothesis import strategies as st

from gametime.adapters.cassandra import PROTOCOL_VERSION, encode_entries

EVENTS_MAP = MapType.apply_parameters(
    [TupleType.apply_parameters([LongType, UTF8Type, UTF8Type]), UTF8Type]
)
ids = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
entries = st.dictionaries(
    st.tuples(st.integers(-(2**63), 2**63 - 1), ids, ids), ids, max_size=30
)


@given(entries)
def test_entries_encode_as_the_driver_encodes_them(
    value: dict[tuple[int, str, str], str],
) -> None:
    assert encode_entries(value) == EVENTS_MAP.serialize(value, PROTOCOL_VERSION)


def test_an_empty_role_and_non_ascii_ids_round_trip() -> None:
    value = {(1_721_192_400_000_000, "gäme", ""): "2024-07-17 12:00:00"}
    encoded = encode_entries(value)
    assert EVENTS_MAP.deserialize(encoded, PROTOCOL_VERSION) == value
