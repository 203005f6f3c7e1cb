"""``/u/<token>``: the link in every campaign e-mail's List-Unsubscribe header and footer.

Public: no login, and no CSRF token for the POST, which mailbox providers send on the
recipient's behalf (RFC 8058: ``List-Unsubscribe=One-Click`` as form body). The signed
token is what protects it: only the recipient's message holds it, and it opts out only
the contact it names. A GET shows one button that sends the same POST, so a link scanner
following the link changes nothing. The pages show nothing of the contact; the contact's
language is used for them, German when unknown.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.contact_events import set_consent
from core.messaging.unsubscribe import InvalidToken, UnsubscribeToken, read_token
from core.models import Contact, Run
from core.reach import OPT_OUTS
from webapp.context import db_session, get_campaign
from webapp.i18n import use_language
from webapp.public_limits import PUBLIC_MAX_BODY, limit_public
from webapp.security import csrf

bp = Blueprint("unsubscribe", __name__, template_folder="templates")

ONE_CLICK = ("List-Unsubscribe", "One-Click")
limit_public(bp, "unsubscribe", lambda settings: settings.public_rate_limit, PUBLIC_MAX_BODY)
ACTOR = "unsubscribe link"
"""``ContactEvent.actor`` of an opt-out through the link (the panel's catalog has it)."""
SOURCE = "unsubscribe_link"
"""``ContactEvent.source`` of an opt-out through the link (the panel translates it)."""


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    get_campaign(state.app).public_endpoints.update({"unsubscribe.page", "unsubscribe.confirm"})


@bp.get("/u/<token>")
def page(token: str) -> ResponseReturnValue:
    found = _token(token)
    if found is None:
        return _invalid()
    return _render("unsubscribe/page.html", token=token)


@bp.post("/u/<token>")
@csrf.exempt
def confirm(token: str) -> ResponseReturnValue:
    found = _token(token)
    if found is None:
        return _invalid()
    if request.form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
        return _invalid()
    session = db_session()
    opt_out(session, found)
    session.commit()
    return _render("unsubscribe/done.html")


def opt_out(session: Session, token: UnsubscribeToken) -> bool:
    """Opt the token's contact out of its channel, recorded as an event with the run; True
    when the flag changed (a second click, or a deleted contact, changes nothing)."""
    contact = session.get(Contact, token.contact_id)
    if contact is None or token.channel not in OPT_OUTS:
        return False
    run_id = token.run_id
    if run_id is not None and session.scalar(select(Run.id).where(Run.id == run_id)) is None:
        run_id = None  # the run was deleted since; the opt-out still counts
    flag, _reason = OPT_OUTS[token.channel]
    changes = set_consent(session, contact, {flag: True}, actor=ACTOR, source=SOURCE, run_id=run_id)
    return bool(changes)


def _token(token: str) -> UnsubscribeToken | None:
    """The token's contents (the page then speaks the contact's language), else None."""
    try:
        found = read_token(get_campaign().settings.secret_key, token)
    except InvalidToken:
        return None
    if "lang" not in request.args:
        contact = db_session().get(Contact, found.contact_id)
        use_language(contact.language if contact else None)
    return found


def _invalid() -> ResponseReturnValue:
    return _render("unsubscribe/invalid.html", status=400)


def _render(template: str, status: int = 200, **values: object) -> ResponseReturnValue:
    if "lang" in request.args:
        use_language(request.args["lang"])
    response = render_template(template, one_click=ONE_CLICK, **values)
    return response, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
