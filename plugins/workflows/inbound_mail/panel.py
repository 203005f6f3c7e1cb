"""The panel's "Inbound e-mail" (what ``processing`` recorded): the list by kind, the mail to
read first (what nobody could match), and one message's text. Read-only: the workflow
inboundMail records, people read."""

from __future__ import annotations

import email
import email.policy

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from core.models import Contact, Role
from plugins.workflows.inbound_mail.classification import Kind
from plugins.workflows.inbound_mail.models import InboundMail
from webapp import db_session, page_arguments, paginate, role_required

bp = Blueprint("inbound", __name__, url_prefix="/inbound", template_folder="templates")

PAGE_SIZE = 50
MAX_TEXT = 100_000
"""Characters of a message's text the page shows."""
KINDS = tuple(kind.value for kind in Kind)


@bp.get("/")
@role_required(Role.CAMPAIGN_MANAGER)
def index() -> str:
    """Unmatched mail first: it is what needs a person; ``?kind=all`` or a kind for others."""
    kind = request.args.get("kind", Kind.UNMATCHED.value)
    if kind not in (*KINDS, "all"):
        kind = Kind.UNMATCHED.value
    query = select(InboundMail, Contact).outerjoin(Contact, Contact.id == InboundMail.contact_id)
    if kind != "all":
        query = query.where(InboundMail.kind == kind)
    number, _size = page_arguments(request.args)
    page = paginate(db_session(), query.order_by(InboundMail.id.desc()), number, PAGE_SIZE)
    return render_template("inbound/index.html", page=page, kind=kind, kinds=KINDS)


@bp.get("/<int:mail_id>")
@role_required(Role.CAMPAIGN_MANAGER)
def message(mail_id: int) -> str:
    mail = db_session().get(InboundMail, mail_id)
    if mail is None:
        abort(404)
    contact = db_session().get(Contact, mail.contact_id) if mail.contact_id else None
    text = message_text(mail.raw) if mail.raw is not None else None
    return render_template(
        "inbound/message.html",
        mail=mail,
        contact=contact,
        text=text[:MAX_TEXT] if text is not None else None,
        truncated=(text is not None and len(text) > MAX_TEXT)
        or (mail.raw is not None and len(mail.raw) < mail.size),
    )


def message_text(raw: bytes) -> str:
    """The readable text of a stored message: its plain-text body, else the whole source."""
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        if body is not None:
            return body.get_content()
    except (LookupError, ValueError, UnicodeError, AttributeError):
        pass
    return raw.decode("utf-8", errors="replace")
