"""Small real plugins the engine tests run campaigns with (also loaded by worker processes
through CAMPAIGN_PLUGINS=engine_plugins)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import literal, select, update

from core import Action, Channel, DataSource, Outcome, Recipient, RecipientFilter, Scope, hookimpl
from core.documents.archive import archive_document, open_store
from core.models import Contact, DocumentKind
from core.query import get_entity

from waiting import poll


def contact_recipient(contact_id: int, last_name: str | None, email: str | None, city: str | None):
    return Recipient(
        f"contacts:{contact_id}",
        "contacts",
        contact_id,
        {"last_name": last_name, "email": email, "city": city},
        group=city,
    )


class AllContacts(DataSource):
    name = "test_contacts"
    title = "Every contact, grouped by city"

    def entity(self):
        return "contacts"

    def select(self, context):
        return select(Contact.id.label("id"), Contact.city.label("group_key"))

    def load(self, context, ids):
        rows = context.session.execute(
            select(Contact.id, Contact.last_name, Contact.email, Contact.city).where(
                Contact.id.in_(ids)
            )
        )
        return {row.id: contact_recipient(*row) for row in rows}


class StreamedContacts(AllContacts):
    name = "test_streamed_contacts"
    title = "Every contact, as a stream"

    def select(self, context):
        return None

    def iter_recipients(self, context):
        rows = context.session.execute(
            select(Contact.id, Contact.last_name, Contact.email, Contact.city).order_by(Contact.id)
        )
        for row in rows:
            yield contact_recipient(*row)


class Offline(AllContacts):
    name = "test_offline"
    title = "A source whose server is down"

    def select(self, context):
        raise ConnectionError("the CRM is offline")


class RecordsParams(BaseModel):
    entity: str = "contracts"
    delay_ms: int = 0


class Records(DataSource):
    """Whole records of an entity; ``delay_ms`` slows down every load of a batch, so that a
    test can kill a worker while the batch's transaction is open."""

    name = "test_records"
    title = "Every record of an entity, whole"
    Params = RecordsParams

    def entity(self):
        return self.params.entity

    def select(self, context):
        model = get_entity(self.params.entity).model
        return select(model.id.label("id"), literal(None).label("group_key"))

    def load(self, context, ids):
        time.sleep(self.params.delay_ms / 1000)
        return super().load(context, ids)


class HasEmail(RecipientFilter):
    name = "test_has_email"
    title = "Has an e-mail address"

    def narrow(self, query, context):
        return query.where(Contact.email.is_not(None))

    def apply(self, recipients, context):
        return (r for r in recipients if r.data.get("email"))


class HasEmailStreaming(HasEmail):
    name = "test_has_email_streaming"
    title = "Has an e-mail address (checked in Python)"

    def narrow(self, query, context):
        return None


class SlowParams(BaseModel):
    delay_ms: int = 0


class Slow(RecipientFilter):
    """Lets every recipient through after ``delay_ms``: a targeting long enough to kill."""

    name = "test_slow"
    title = "Let every recipient through, slowly"
    Params = SlowParams

    def narrow(self, query, context):
        return None

    def apply(self, recipients, context):
        for recipient in recipients:
            time.sleep(self.params.delay_ms / 1000)
            yield recipient


class EvenHeldOut(RecipientFilter):
    name = "test_even_held_out"
    title = "Hold out contacts with an even id"
    holds_out = True

    def narrow(self, query, context):
        return query.where(Contact.id % 2 == 1)

    def apply(self, recipients, context):
        for recipient in recipients:
            if recipient.id % 2 == 0:
                yield Recipient(**{**_fields(recipient), "held_out": True})
            else:
                yield recipient


def _fields(recipient):
    return {name: getattr(recipient, name) for name in recipient.__dataclass_fields__}


class TagParams(BaseModel):
    delay_ms: int = 0
    fail_for: list[str] = []


class Tag(Action):
    name = "test_tag"
    title = "Count a tag on the contact (an effect inside the database)"
    Params = TagParams
    chunk_size = 10

    def process(self, recipient, context):
        time.sleep(self.params.delay_ms / 1000)
        contact = context.session.get(Contact, recipient.id)
        contact.attributes = {**contact.attributes, "tags": contact.attributes.get("tags", 0) + 1}
        context.session.flush()
        if recipient.data["last_name"] in self.params.fail_for:
            raise RuntimeError(f"no tag for {recipient.data['last_name']}")
        return Outcome.done()


class NotifyParams(BaseModel):
    path: str
    delay_ms: int = 0
    finished_path: str | None = None
    """Where the finishing step appends a line, after ``finish_delay_ms``."""
    finish_delay_ms: int = 0


class Notify(Action):
    name = "test_notify"
    title = "Append a line per recipient to a file (an effect outside the database)"
    Params = NotifyParams
    channel = Channel.EMAIL
    external_effects = True
    chunk_size = 10

    def process(self, recipient, context):
        time.sleep(self.params.delay_ms / 1000)
        with Path(self.params.path).open("a") as handle:
            handle.write(f"{recipient.key}\n")
        return Outcome.done(reference=f"line-{recipient.key}")

    def finish(self, context):
        if self.params.finished_path:
            time.sleep(self.params.finish_delay_ms / 1000)
            with Path(self.params.finished_path).open("a") as handle:
                handle.write("finished\n")


class WarmUpParams(NotifyParams):
    warming_path: str
    """The warm-up creates this file, then waits until ``<warming_path>.go`` exists."""


class NotifyAfterWarmUp(Notify):
    name = "test_notify_after_warm_up"
    title = "Append a line per recipient, after a warm-up that waits for the test"
    Params = WarmUpParams

    def warm_up(self, recipient, context):
        warming = Path(self.params.warming_path)
        warming.touch()
        poll(warming.with_name(f"{warming.name}.go").exists)


class CityParams(BaseModel):
    path: str
    fail_for: list[str] = []


class CityCount(Action):
    name = "test_city_count"
    title = "Write one line per city with its member count"
    Params = CityParams
    scope = Scope.GROUP
    external_effects = True

    def process(self, recipient, context):
        if recipient.group in self.params.fail_for:
            return Outcome.failed(f"no count for {recipient.group}")
        members = sum(1 for _ in context.members(recipient.group))
        with Path(self.params.path).open("a") as handle:
            handle.write(f"{recipient.group}={members}\n")
        return Outcome.done()

    def finish(self, context):
        with Path(self.params.path).open("a") as handle:
            handle.write("finished\n")


class LetterParams(BaseModel):
    pages: int = 1


class Letter(Action):
    name = "test_letter"
    title = "A letter of some pages per recipient with a city (an effect inside the database)"
    Params = LetterParams
    channel = Channel.POSTAL
    cost_unit = "pages"
    chunk_size = 10

    def process(self, recipient, context):
        if not recipient.data.get("city"):
            return Outcome.skipped("no address")
        return Outcome.done(units=self.params.pages)


class FiledLetter(Letter):
    name = "test_filed_letter"
    title = "A letter filed in the recipient's archive (a small document per recipient)"

    def process(self, recipient, context):
        outcome = super().process(recipient, context)
        if outcome.status == "done":
            archive_document(
                context.session,
                open_store(context.runtime.plugins, context.settings, "filesystem"),
                contact_id=recipient.id,
                campaign_id=context.campaign_id,
                run_id=context.run_id,
                report_id=None,
                kind=DocumentKind.LETTER,
                title="Brief",
                filename="brief.pdf",
                data=f"%PDF letter to {recipient.key}".encode(),
                source_key=recipient.key,
            )
        return outcome


def tag_counts(session) -> dict[int, int]:
    return {
        contact.id: contact.attributes.get("tags", 0)
        for contact in session.scalars(select(Contact).order_by(Contact.id))
    }


def reset_tags(session) -> None:
    session.execute(update(Contact).values(attributes={}))


@hookimpl
def register_datasources(register):
    register(AllContacts)
    register(StreamedContacts)
    register(Offline)
    register(Records)


@hookimpl
def register_recipient_filters(register):
    register(HasEmail)
    register(HasEmailStreaming)
    register(Slow)
    register(EvenHeldOut)


@hookimpl
def register_actions(register):
    register(Tag)
    register(Notify)
    register(NotifyAfterWarmUp)
    register(CityCount)
    register(Letter)
    register(FiledLetter)
