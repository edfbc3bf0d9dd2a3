"""The alert engine: one lifecycle and one delivery for every domain's alerts.

A domain (the river monitor, parking, air quality) decides *when*
something is wrong; this package does everything after that, the same way for all:

1. The domain describes itself once as an :class:`~alerts.model.AlertSource`: its name
   (``"river"``), what it watches (``"gauge"``), each subject's escalation (contact
   groups in order, acknowledgement timeout, reminder interval) and its webhooks.
2. Whenever a condition changes, it hands the engine a
   :class:`~alerts.model.Condition` (subject, kind, severity 0-3, when, value, message,
   details) with :func:`alerts.store.apply`, inside its own transaction. The engine
   keeps at most one open alert per condition key (domain, subject, kind) and turns
   each change into a lifecycle step: raised, escalated, de-escalated, resolved.
3. Time passes: :func:`alerts.store.run_timers` repeats reminders and alerts the next
   contact group while nobody answers; :func:`alerts.store.acknowledge` records who
   answers (the API's acknowledge route).
4. Every step is an event with a JSON document, stored with the alert's history and,
   in the same transaction, one outbox row per channel that owes it; the event is
   announced on the notification channel ``{domain}_events``.
5. :class:`alerts.delivery.Dispatcher` delivers the outbox at least once, in order per
   channel, with retries: MQTT (``{prefix}/events/{domain}/{subject}/{kind}``, through
   :mod:`ingest_mqtt.publisher`) and Standard Webhooks. Open pages get the same events
   as server-sent events, fed from the notification channel through
   :class:`storage.notifications.Notifications`.

Modules: ``model`` (what a domain gives), ``store`` (the tables: lifecycle, history,
outbox), ``delivery`` (MQTT and webhooks), ``monitor`` (a domain's alerts as a service:
its conditions judged each tick and applied, the timers run, the dispatcher beside it;
parking and air quality write only their conditions), ``config`` (webhooks read from a
TOML file, for every domain), ``errors``. The tables are ``alerts``,
``alert_events`` and ``alert_outbox`` (``storage/sql/0010_alerts.sql``). The engine
knows no domain: the river's use of it is ``river_monitor/alerting.py``.
"""
