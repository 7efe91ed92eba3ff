"""Turning other shapes of play data (sessions, presence sightings) into events.

Readers yield `SourcedEvent`s: an event in the reference shape together with the
line of the source it came from, so a rejection can be traced back to its row.
Nothing here does I/O beyond reading the text it is handed.
"""
