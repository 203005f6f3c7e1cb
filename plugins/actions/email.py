"""Action "email": one e-mail per recipient through the installation's mail server.

Subject, HTML body and plain-text body are templates filled from the recipient's record
(``core.documents.templating``: the subject and the text are plain text, the HTML body escapes every
placeholder). The recipient's archived letter can go along as an attachment: the latest
letter of a report, of a campaign or of a run, for this contact (the worked example: print
the information letter, then e-mail it to everyone who prefers e-mail).

Sending leaves our database, so the engine claims each row before ``process`` runs. The
Message-ID is derived from the ledger key (run and recipient) and goes to the row as its
reference: a message sent again after an explicit retry of an unclear row carries the same
Message-ID, so the receiving side can tell it is the same message. Every sent message is
filed as ``.eml`` with the contact (document kind ``email``) in the same commit as the row's
outcome; a refused message leaves nothing in the archive.

Every message to a contact carries the one-click unsubscribe headers (RFC 8058, RFC 2369)
with the contact's signed link (``core.messaging.unsubscribe``), which the templates can also show
as ``{{ unsubscribe_url }}``. Without ``CAMPAIGN_PUBLIC_URL`` no link can be built, so every
recipient fails with that reason instead of getting a message without one. A recipient that
is no contact (an imported row) cannot be opted out: its message goes without the headers.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.headerregistry import Address
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import Action, Channel, Outcome, Recipient, hookimpl
from core.documents.archive import archive_document, open_store, read_document
from core.documents.rendering import contact_fields, find_report
from core.documents.templating import (
    LOCAL_TIME,
    CompiledTemplate,
    TemplateError,
    check_plain,
    compile_template,
    nest,
)
from core.messages import english_plural
from core.messaging.bounces import make_bounce_token, verp_address
from core.messaging.mail import (
    Attachment,
    Mail,
    build_message,
    mailbox,
    message_id,
    recipient_address,
)
from core.messaging.sending import MaybeSentError, NotSentError, SendingThread, ledger_reference
from core.messaging.smtp import Mailer, open_mailer
from core.messaging.unsubscribe import make_token, unsubscribe_url
from core.models import ArchivedDocument, Campaign, DocumentKind, ItemStatus, Run
from core.plugin_base import DocumentStore
from core.query.entities import ENTITIES
from core.reach import usable_address
from plugins.actions import TRANSLATIONS

log = logging.getLogger(__name__)

MAX_SUBJECT_TEMPLATE = 1000
MAX_SUBJECT = 500
MAX_BODY_TEMPLATE = 100_000
PREFERRED_EMAIL = "email"
NO_PUBLIC_URL = (
    "CAMPAIGN_PUBLIC_URL is not set, so no unsubscribe link can be built; "
    "set the panel's public address to send campaign e-mails"
)


def subject_template(source: str) -> CompiledTemplate:
    return compile_template(
        source, html=False, max_source=MAX_SUBJECT_TEMPLATE, max_output=MAX_SUBJECT
    )


def body_template(source: str, *, html: bool) -> CompiledTemplate:
    return compile_template(source, html=html, max_source=MAX_BODY_TEMPLATE)


class LetterAttachment(BaseModel):
    """Which archived letter of the contact goes along: the latest that matches all given."""

    model_config = ConfigDict(extra="forbid")

    report: str | int | None = Field(None, description="A letter of this report (name or id).")
    campaign: str | int | None = Field(
        None, description="A letter a run of this campaign archived (name or id)."
    )
    run: int | None = Field(None, description="The letter this run archived.")
    when_missing: Literal["fail", "skip"] = Field(
        "fail",
        description="A recipient without such a letter fails (with the reason) or is skipped.",
    )

    @model_validator(mode="after")
    def _names_a_letter(self) -> LetterAttachment:
        if self.report is None and self.campaign is None and self.run is None:
            raise ValueError("name the letter's report, campaign or run")
        return self


class EmailParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(
        min_length=1,
        max_length=MAX_SUBJECT_TEMPLATE,
        description="Subject with placeholders such as {{ first_name }} (plain text, one line).",
    )
    html: str = Field(
        "",
        max_length=MAX_BODY_TEMPLATE,
        description="HTML body; placeholders are escaped. Empty: a plain-text message.",
    )
    text: str = Field(
        "",
        max_length=MAX_BODY_TEMPLATE,
        description="Plain-text body, the alternative to the HTML one. Empty: HTML only.",
    )
    sender: str = Field(
        "",
        description=(
            "From, e.g. 'Kundenservice <service@example.de>'; empty: the installation's sender "
            "(CAMPAIGN_MAIL_FROM)."
        ),
    )
    reply_to: str = Field("", description="Reply-To address; empty: replies go to the sender.")
    attachment: LetterAttachment | None = Field(
        None, description="Attach the contact's archived letter."
    )
    only_preferring_email: bool = Field(
        False,
        description=(
            "Skip recipients who prefer post or web, so that a print campaign with "
            "route_email_preferring_to_email takes them."
        ),
    )
    store: str = Field(
        "filesystem",
        description="Document store for the archived messages.",
        json_schema_extra={"x-options": "document_stores"},
    )

    @field_validator("subject")
    @classmethod
    def _subject_compiles(cls, source: str) -> str:
        subject_template(source)
        return source

    @field_validator("html")
    @classmethod
    def _html_compiles(cls, source: str) -> str:
        if source:
            body_template(source, html=True)
        return source

    @field_validator("text")
    @classmethod
    def _text_compiles(cls, source: str) -> str:
        if source:
            body_template(source, html=False)
        return source

    @field_validator("sender", "reply_to")
    @classmethod
    def _address(cls, value: str) -> str:
        return str(mailbox(value)) if value else value

    @model_validator(mode="after")
    def _has_a_body(self) -> EmailParams:
        if not (self.html or self.text):
            raise ValueError("give an HTML body, a plain-text body or both")
        return self


class MissingLetter(LookupError):
    """The recipient has no archived letter of the kind the campaign attaches."""


@dataclass(frozen=True)
class Composed:
    address: str
    sender: Address
    message: Mail
    attachment: str | None


@dataclass
class _Prepared:
    """A message composed and filed (not yet flushed), waiting for the server's answer."""

    composed: Composed
    document: ArchivedDocument
    store: DocumentStore
    sending: Callable[[], object] | None = None


class Email(Action):
    name = "email"
    title = "E-mail"
    description = (
        "Sends an e-mail from templates to each recipient's address through the "
        "installation's mail server, optionally with the contact's archived letter attached, "
        "and files every sent message with the contact."
    )
    Params = EmailParams
    params: EmailParams
    channel = Channel.EMAIL
    cost_unit = "messages"
    external_effects = True
    chunk_size = 1000
    """A message takes ~2 ms: a job's fork and start would cost a 200-message chunk 10%."""

    def __init__(self, params: Any = None):
        super().__init__(params)
        self.subject = subject_template(self.params.subject)
        self.html = body_template(self.params.html, html=True) if self.params.html else None
        self.text = body_template(self.params.text, html=False) if self.params.text else None
        self._mailer: Mailer | None = None
        self._stores: dict[str, DocumentStore] = {}
        self._run_tokens: dict[int | None, str] = {}
        self._letter_filter: tuple[Any, ...] | None = None
        self._from: Address | None = None
        self._sending = SendingThread("smtp")

    # --- per recipient ---------------------------------------------------------------------

    def process(self, recipient: Recipient, context: Any) -> Outcome:
        prepared = self._prepare(recipient, context)
        if isinstance(prepared, Outcome):
            return prepared
        # on the sending thread too: only that thread ever uses the mail server connection
        sending = self._sending.submit(self.mailer(context).send, prepared.composed.message)
        return self._settled(prepared, context, sending.result)

    def process_many(self, recipients: Sequence[Recipient], context: Any) -> list[Outcome]:
        """Each message goes to the mail server on the sending thread while the next one is
        composed and filed. The archive entries stay unflushed until every answer is in,
        so the entry of a message the server refused can still be left out."""
        mailer = self.mailer(context)
        steps: list[Outcome | _Prepared] = []
        with context.session.no_autoflush:
            for recipient in recipients:
                try:  # nothing of this one was sent yet: a surprise fails it alone
                    prepared = self._prepare(recipient, context)
                except Exception as exc:
                    log.warning("e-mail to %s not sent", recipient.key, exc_info=True)
                    prepared = Outcome.failed(f"{type(exc).__name__}: {exc}")
                if isinstance(prepared, _Prepared):
                    message = prepared.composed.message
                    prepared.sending = self._sending.submit(mailer.send, message).result
                steps.append(prepared)
        return [
            step if isinstance(step, Outcome) else self._settled(step, context, step.sending)
            for step in steps
        ]

    def _prepare(self, recipient: Recipient, context: Any) -> Outcome | _Prepared:
        """The message composed and filed, or the outcome that says why there is none."""
        contact = contact_of(recipient)
        reason = self._skip_reason(contact)
        if reason:
            return Outcome.skipped(reason)
        try:
            composed = self.compose(recipient, contact, context)
        except MissingLetter as exc:
            if self.params.attachment and self.params.attachment.when_missing == "skip":
                return Outcome.skipped(str(exc))
            return Outcome.failed(str(exc))
        except ValueError as exc:
            return Outcome.failed(str(exc))
        message = composed.message
        store = self._store(context, self.params.store)
        document = archive_document(
            context.session,
            store,
            contact_id=contact_id(recipient, contact),
            campaign_id=context.campaign_id,
            run_id=context.run_id,
            report_id=None,
            kind=DocumentKind.EMAIL,
            title=message.subject[:200],
            filename=f"{_slug(contact.get('number') or recipient.key)}.eml",
            data=message.data,
            content_type="message/rfc822",
            source_key=recipient.key,
            meta={"to": composed.address, "message_id": message.message_id},
            created_by=context.started_by,
        )
        return _Prepared(composed, document, store)

    @staticmethod
    def _settled(prepared: _Prepared, context: Any, sending: Callable[[], object]) -> Outcome:
        """The outcome once ``sending`` answered: a refused message leaves no archive entry
        and no file; one that may be out keeps its file."""
        document = prepared.document
        try:
            sending()
        except NotSentError as exc:
            context.session.expunge(document)
            prepared.store.delete(document.store_ref)
            return Outcome.failed(str(exc))
        except Exception as exc:  # MaybeSentError, or a surprise while sending
            context.session.expunge(document)
            reason = str(exc) if isinstance(exc, MaybeSentError) else f"{type(exc).__name__}: {exc}"
            return Outcome(ItemStatus.UNCLEAR.value, reason, 0)
        composed = prepared.composed
        detail = f"sent to: {composed.address}"
        if composed.attachment:
            detail += f"; attachment: {composed.attachment}"
        return Outcome.done(detail, reference=composed.message.message_id)

    def preview(self, recipient: Recipient, context: Any) -> str:
        contact = contact_of(recipient)
        reason = self._skip_reason(contact)
        if reason:
            return f"skipped: {reason}"
        try:
            composed = self.compose(recipient, contact, context)
        except (MissingLetter, ValueError) as exc:
            return f"no e-mail: {exc}"
        message = composed.message
        parts = [
            f"e-mail to: {composed.address}",
            f"from: {composed.sender}",
            english_plural("{0} byte", "{0} bytes", len(message.data)),
            f"attachment: {composed.attachment}" if composed.attachment else "",
            f"subject: {message.subject}",  # last: the body follows it
        ]
        detail = "; ".join(part for part in parts if part)
        return f"{detail}\n\n{_body_text(message.data)}"

    def compose(self, recipient: Recipient, contact: Mapping[str, Any], context: Any) -> Composed:
        """The message for ``recipient``; a ValueError (or MissingLetter) says why none."""
        address = recipient_address(contact.get("email"))
        owner = contact_id(recipient, contact)
        link = self._unsubscribe_link(owner, context)
        values = {
            **nest(recipient.data),
            "contact": dict(contact),
            "campaign": {"id": context.campaign_id, "name": context.campaign_name},
            "date": context.now.astimezone(LOCAL_TIME).date(),
            "unsubscribe_url": link or "",
        }
        check_plain(values)
        subject = " ".join(_render("subject", self.subject, values).split())
        if not subject:
            raise ValueError("the subject is empty")
        text = _render("text body", self.text, values) if self.text else None
        html = _render("HTML body", self.html, values) if self.html else None
        attachments = []
        if self.params.attachment is not None:
            attachments.append(self._letter(recipient, contact, context))
        sender = self._sender(context)
        reference = ledger_reference(context.run_id, recipient.key)
        message = build_message(
            sender=sender,
            to=address,
            subject=subject,
            message_id=message_id(reference, sender.domain, self._run_token(context)),
            date=context.now,
            text=text,
            html=html,
            reply_to=self.params.reply_to or None,
            attachments=attachments,
            extra_headers=self._unsubscribe_headers(link, context) if link else (),
        )
        envelope = self._envelope_sender(owner, context)
        if envelope:
            message = replace(message, sender=envelope)
        attached = attachments[0].filename if attachments else None
        return Composed(address, sender, message, attached)

    # --- helpers ---------------------------------------------------------------------------

    def _sender(self, context: Any) -> Address:
        """The From mailbox, parsed once per action rather than once per message."""
        if self._from is None:
            self._from = mailbox(self.params.sender or context.settings.mail_from)
        return self._from

    def _unsubscribe_link(self, owner: int | None, context: Any) -> str | None:
        """The contact's one-click link; a ValueError without the panel's public address."""
        settings = context.settings
        if not settings.public_url:
            raise ValueError(NO_PUBLIC_URL)
        if owner is None:
            return None
        token = make_token(settings.secret_key, owner, context.run_id, self.channel, context.now)
        return unsubscribe_url(settings.public_url, token)

    @staticmethod
    def _envelope_sender(owner: int | None, context: Any) -> str | None:
        """VERP (``CAMPAIGN_BOUNCE_ADDRESS``): a bounce comes back to an address whose
        signed token names the run and the contact; a recipient that is no contact gets
        the plain bounce address (its bounce is matched by the returned Message-ID)."""
        settings = context.settings
        if not settings.bounce_address:
            return None
        if owner is None or context.run_id is None:
            return settings.bounce_address
        token = make_bounce_token(settings.secret_key, context.run_id, owner)
        return verp_address(settings.bounce_address, token)

    @staticmethod
    def _unsubscribe_headers(link: str, context: Any) -> list[tuple[str, str]]:
        targets = [f"<{link}>"]
        if context.settings.unsubscribe_mailto:  # the subject carries the link's token
            subject = quote(f"unsubscribe {link.rpartition('/')[2]}")
            targets.append(f"<mailto:{context.settings.unsubscribe_mailto}?subject={subject}>")
        return [
            ("List-Unsubscribe", ", ".join(targets)),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]

    def mailer(self, context: Any) -> Mailer:
        """One mailer, so one connection, for every message of this chunk."""
        if self._mailer is None:
            self._mailer = open_mailer(context.settings)
        return self._mailer

    def _skip_reason(self, contact: Mapping[str, Any]) -> str | None:
        if self.params.only_preferring_email:
            preferred = contact.get("preferred_channel") or "post"
            if preferred != PREFERRED_EMAIL:
                return f"prefers {preferred}"
        # no address (or one that bounced) is nothing to do, not a failure
        reason = usable_address(contact, Channel.EMAIL)
        return None if reason is None else reason.value

    def _store(self, context: Any, name: str) -> DocumentStore:
        if name not in self._stores:
            self._stores[name] = open_store(context.runtime.plugins, context.settings, name)
        return self._stores[name]

    def _run_token(self, context: Any) -> str:
        """Part of every Message-ID: the run's creation time, so that two installations
        (say, a test system) never make the same Message-ID for their run 12."""
        if context.run_id not in self._run_tokens:
            created = context.session.scalar(select(Run.created_at).where(Run.id == context.run_id))
            micros = int(created.timestamp() * 1_000_000) if created else 0
            self._run_tokens[context.run_id] = f"{micros:x}"
        return self._run_tokens[context.run_id]

    def _letter(self, recipient: Recipient, contact: Mapping[str, Any], context: Any) -> Attachment:
        session = context.session
        wanted = self._letter_conditions(session)
        owner = contact_id(recipient, contact)
        if owner is None:
            raise MissingLetter("the recipient is no contact, so it has no archived letter")
        document = session.scalars(
            select(ArchivedDocument)
            .where(
                ArchivedDocument.contact_id == owner,
                ArchivedDocument.kind == DocumentKind.LETTER,
                *wanted,
            )
            .order_by(ArchivedDocument.created_at.desc(), ArchivedDocument.id.desc())
            .limit(1)
        ).first()
        if document is None:
            raise MissingLetter(f"no archived letter; {self._letter_description()}")
        data = read_document(self._store(context, document.store), document)
        return Attachment(document.filename, data, document.content_type)

    def _letter_conditions(self, session: Session) -> tuple[Any, ...]:
        """The attachment's report and campaign looked up once (by name or id)."""
        if self._letter_filter is None:
            wanted = self.params.attachment
            conditions: list[Any] = []
            if wanted.report is not None:
                conditions.append(
                    ArchivedDocument.report_id == find_report(session, wanted.report).id
                )
            if wanted.campaign is not None:
                conditions.append(
                    ArchivedDocument.campaign_id == find_campaign(session, wanted.campaign)
                )
            if wanted.run is not None:
                conditions.append(ArchivedDocument.run_id == wanted.run)
            self._letter_filter = tuple(conditions)
        return self._letter_filter

    def _letter_description(self) -> str:
        """The letter looked for, as ``label: value`` parts the panel translates."""
        wanted = self.params.attachment
        parts = [
            f"{label}: {value}"
            for label, value in (
                ("report", wanted.report),
                ("campaign", wanted.campaign),
                ("run", wanted.run),
            )
            if value is not None
        ]
        return "; ".join(parts)


def contact_of(recipient: Recipient) -> dict[str, Any]:
    """The contact's fields of the recipient; a record of no known entity is its own."""
    if recipient.entity in ENTITIES:
        return contact_fields(recipient.data, recipient.entity)
    return dict(recipient.data)


def contact_id(recipient: Recipient, contact: Mapping[str, Any]) -> int | None:
    entity = ENTITIES.get(recipient.entity)
    if entity is None or entity.contact_path is None:
        return None
    return contact.get("id", recipient.id if entity.contact_path == "" else None)


def find_campaign(session: Session, campaign: int | str) -> int:
    """A campaign's id, by id or by name."""
    if isinstance(campaign, int) or campaign.isdigit():
        found = session.scalar(select(Campaign.id).where(Campaign.id == int(campaign)))
    else:
        found = session.scalar(select(Campaign.id).where(Campaign.name == campaign))
    if found is None:
        raise ValueError(f"unknown campaign: {campaign}")
    return found


def _render(part: str, template: CompiledTemplate, values: Mapping[str, Any]) -> str:
    """``template`` filled from ``values``, which ``compose`` checked once for all parts."""
    try:
        return str(template.render(values, checked=True))
    except TemplateError as exc:
        raise ValueError(f"{part}, {exc}" if exc.lineno else f"{part}: {exc}") from None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower() or "email"


@hookimpl
def register_actions(register: Callable[[type[Action]], None]) -> None:
    register(Email)


PREVIEW_TEXT = 4000
"""Characters of a message's body a preview shows (reviewers read it on the approval page)."""


def _body_text(data: bytes) -> str:
    """The plain-text body of a built message (else its HTML), as a reviewer reads it."""
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain", "html"))
    text = "" if body is None else "\n".join(body.get_content().strip().splitlines())
    return text[:PREVIEW_TEXT]


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
