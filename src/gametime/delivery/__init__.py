"""Handing events to the service in batches: over HTTP, or in process.

Both ways are a `EventSink`; `deliver` batches a stream of sourced events into one
and keeps the service's rejections with the source lines they came from.
"""
