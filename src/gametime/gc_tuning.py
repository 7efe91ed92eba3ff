"""Garbage-collector settings for the long-running processes (processor, API)."""

from __future__ import annotations

import gc

# A batch or a request allocates many objects, all freed by reference counting.
# Python's default thresholds would still run a collection every 700 allocations,
# and a full one over every long-lived object now and then: a third of the time of
# a busy processor. Collections stay on (a leaked cycle is still found), just rarer.
API_THRESHOLD = 50_000
# A processor's batch of 10,000 messages allocates a few hundred thousand objects,
# and its raw-event buffer keeps about a minute of events alive. Below that, a
# collection ran within nearly every batch and walked the buffer's newest events:
# 13 % of its time at 50,000 against 7 % at 200,000 (docs/benchmarks.md).
PROCESSOR_THRESHOLD = 200_000


def relax_gc(threshold: int = API_THRESHOLD) -> None:
    """Tune the cyclic collector for a long-running process; call once at start."""
    gc.collect()
    gc.freeze()  # what start-up built lives forever: never traverse it again
    gc.set_threshold(threshold, 50, 100)
