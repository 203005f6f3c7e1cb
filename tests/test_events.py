"""``record_events`` hands a change's domain events to the plugins of the session's database,
while the change's transaction is open; a database without plugins hands them to no one."""

from __future__ import annotations

from core import hookimpl
from core.clock import utcnow
from core.db.database import Database
from core.events import DomainEvent, record_events
from core.plugins import PluginHost


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[object, list[DomainEvent], bool]] = []

    @hookimpl
    def events_recorded(self, session, events) -> None:
        self.calls.append((session, list(events), session.in_transaction()))


def test_the_plugins_of_the_sessions_database_hear_the_events_in_its_transaction(database_url):
    listener = Listener()
    plugins = PluginHost()
    plugins.add(listener, "listener", "test")
    event = DomainEvent("run.started", {"run_id": 1}, utcnow())

    with Database(database_url, plugins).session() as session:
        record_events(session, [event])
        record_events(session, [])  # nothing to hand over
    with Database(database_url).session() as unheard:
        record_events(unheard, [event])

    assert listener.calls == [(session, [event], True)]
