"""Plugins the benchmarks run: every contact as a source, and an action that does nothing."""

from sqlalchemy import select

from core import Action, Channel, DataSource, Outcome, Recipient, hookimpl
from core.models import Contact


class BenchContacts(DataSource):
    name = "bench_contacts"
    title = "Every contact (benchmark)"

    def entity(self):
        return "contacts"

    def select(self, context):
        return select(Contact.id.label("id"), Contact.city.label("group_key"))

    def load(self, context, ids):
        rows = context.session.execute(
            select(Contact.id, Contact.last_name, Contact.email).where(Contact.id.in_(ids))
        )
        return {
            row.id: Recipient(
                f"contacts:{row.id}",
                "contacts",
                row.id,
                {"last_name": row.last_name, "email": row.email},
            )
            for row in rows
        }


class NoOp(Action):
    name = "bench_noop"
    title = "Do nothing (benchmark)"
    chunk_size = 2000

    def process(self, recipient, context):
        return Outcome.done()


@hookimpl
def register_datasources(register):
    register(BenchContacts)


@hookimpl
def register_actions(register):
    register(NoOp)
    register(NoOpEmail)


class NoOpEmail(NoOp):
    name = "bench_noop_email"
    title = "Do nothing, as if sending e-mail (benchmark)"
    channel = Channel.EMAIL
