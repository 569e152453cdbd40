"""Alarms: rules evaluated on the live stream, events in the site's store, notifications through a
durable outbox (e-mail, Telegram, LINE, webhook, MQTT).

rules.py (what a rule is), settings.py ([[alarms.rules]] and [alarms.channels.*]), engine.py (the
state machines fed by each reading), demand.py (the demand-block forecast), notify.py (channels),
outbox.py (durable delivery), events.py (the events table), service.py (the wiring the service uses).
"""
