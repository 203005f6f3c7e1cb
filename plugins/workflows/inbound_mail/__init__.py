"""inboundMail, "E-mail: bounces and replies": reads the inbound mailbox and records what
came back (``processing``): bounces mark addresses undeliverable, unsubscribe mails
opt contacts out, auto-replies are set aside, everything else is kept for a person. What it
records is the workflow's own table (``models``), created by its Alembic branch
(``migrations``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Blueprint

from core import Workflow, hookimpl
from core.events import MenuItem
from core.messages import DetailText
from core.models import Role
from plugins.workflows import TRANSLATIONS
from plugins.workflows.inbound_mail import panel
from plugins.workflows.inbound_mail.mailboxes import MailboxError, configured_mailbox, open_mailbox
from plugins.workflows.inbound_mail.processing import process_mailbox


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
            with open_mailbox(configured_mailbox(settings.data_dir)) as mailbox:
                result = process_mailbox(context.database, settings, mailbox, context.now)
        except MailboxError as exc:
            context.log("the mailbox cannot be read: {error}", error=DetailText(str(exc)))
            raise
        return result.summary()


@hookimpl
def check_settings(settings) -> None:
    """A bad ``CAMPAIGN_INBOUND_URL`` stops a command as it starts, not the first pass."""
    configured_mailbox(settings.data_dir)


@hookimpl
def register_workflows(register: Callable[[type[Workflow]], None]) -> None:
    register(InboundMail)


@hookimpl
def register_blueprints(register: Callable[[Blueprint], None]) -> None:
    register(panel.bp)


@hookimpl
def register_menu_items(register: Callable[[MenuItem], None]) -> None:
    register(
        MenuItem(
            title="menu.inbound",
            endpoint="inbound.index",
            role=Role.CAMPAIGN_MANAGER.value,
            order=74,
        )
    )


@hookimpl
def register_migrations(register: Callable[[Path], None]) -> None:
    """The workflow's own Alembic branch: its inbound mails table, taken over from the core."""
    register(Path(__file__).with_name("migrations"))


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
