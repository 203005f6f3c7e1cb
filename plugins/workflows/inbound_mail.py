"""inboundMail, "E-mail: bounces and replies": reads the inbound mailbox and records what
came back (``core.inbound_mail``): bounces mark addresses undeliverable, unsubscribe mails
opt contacts out, auto-replies are set aside, everything else is kept for a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from core import Workflow, hookimpl
from core.inbound_mail import process_mailbox
from core.mailboxes import MailboxError, open_mailbox
from plugins.workflows import TRANSLATIONS


class InboundMail(Workflow):
    name = "inboundMail"
    title = "E-mail: bounces and replies"
    description = (
        "Reads the mailbox bounces and replies arrive in: hard bounces and repeated soft "
        "bounces mark the address undeliverable, mails to the unsubscribe address opt the "
        "contact out of e-mail, mail nobody could match is kept for a person to read."
    )
    default_interval = timedelta(minutes=15)

    def run(self, context) -> str:
        settings = context.settings
        try:
            with open_mailbox(settings.mailbox) as mailbox:
                result = process_mailbox(context.database, settings, mailbox, context.now)
        except MailboxError as exc:
            context.log(str(exc))
            raise
        return result.summary()


@hookimpl
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    register(InboundMail)


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
