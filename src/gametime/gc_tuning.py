"""Garbage-collector settings for the long-running processes (processor, API)."""

from __future__ import annotations

import gc

# A batch or a request allocates many objects, all freed by reference counting.
# Python's default thresholds would still run a collection every 700 allocations,
# and a full one over every long-lived object now and then: a third of the time of
# a busy processor. Collections stay on (a leaked cycle is still found), just rarer.
GC_THRESHOLD = 50_000


def relax_gc() -> None:
    """Tune the cyclic collector for a long-running process; call once at start."""
    gc.collect()
    gc.freeze()  # what start-up built lives forever: never traverse it again
    gc.set_threshold(GC_THRESHOLD, 50, 100)
