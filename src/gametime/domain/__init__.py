"""The pure core of gametime: no I/O lives here.

Each rule has one home: event validation (`events`), event-time parsing
(`event_time`), local days and minute indexes (`calendar`), the distinct-minute
tally (`minutes`), user profiles (`profiles`) and the play-time policy (`policy`).
The embedded service, the Kafka processor and the Spark job all call these modules.
"""
