"""``/sms/<gateway>/receipts`` and ``/sms/<gateway>/inbound``: what a provider posts back.

Public (no login, no CSRF token, no session): the gateway's secret is what protects them
(``CAMPAIGN_SMS_WEBHOOK_SECRET_<GATEWAY>``; a gateway without one has no webhook, 404).
The gateway class checks and parses the request (``core.plugin_base.SmsGateway``), so a
third-party gateway plugin gets the same endpoints. A refused request is logged with the
reason and the client address, and changes nothing; a request that cannot be read changes
nothing either (every item is parsed before any is stored). Answers are JSON.
"""

from __future__ import annotations

import logging
import re
from typing import NamedTuple

from flask import Blueprint, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from core.clock import utcnow
from core.plugin_base import Channel, SmsGateway
from core.plugins import UnknownPluginError
from core.sms_webhooks import MAX_BODY, SIGNATURE_TOLERANCE, WebhookRefused, WebhookRequest
from webapp.context import db_session, get_campaign, get_plugins
from webapp.i18n import t
from webapp.public_limits import limit_public, public_limiter
from webapp.security import csrf
from webapp.sms_webhooks.feedback import record_inbound, record_receipts

log = logging.getLogger(__name__)

bp = Blueprint("sms_webhooks", __name__, url_prefix="/sms")
limit_public(bp, "sms-webhooks", lambda settings: settings.webhook_rate_limit, MAX_BODY)


@bp.record_once
def _set_up(state: BlueprintSetupState) -> None:
    get_campaign(state.app).public_endpoints.update(
        {"sms_webhooks.receipts", "sms_webhooks.inbound"}
    )


@bp.post("/<gateway>/receipts")
@csrf.exempt
def receipts(gateway: str) -> ResponseReturnValue:
    checked = _checked(gateway)
    if not isinstance(checked, Accepted):
        return checked
    cls, webhook = checked
    try:
        found = cls.parse_receipts(webhook)
    except WebhookRefused as exc:
        return _refused(gateway, exc)
    session = db_session()
    recorded = record_receipts(session, found, utcnow())
    session.commit()
    return {"recorded": recorded.matched, "unknown": recorded.unknown}


@bp.post("/<gateway>/inbound")
@csrf.exempt
def inbound(gateway: str) -> ResponseReturnValue:
    checked = _checked(gateway)
    if not isinstance(checked, Accepted):
        return checked
    cls, webhook = checked
    try:
        messages = cls.parse_inbound(webhook)
    except WebhookRefused as exc:
        return _refused(gateway, exc)
    sms_actions = [
        action.name for action in get_plugins().actions if action.channel == Channel.MOBILE
    ]
    session = db_session()
    now = utcnow()
    kinds = [
        record_inbound(session, message, source=f"sms:{gateway}", sms_actions=sms_actions, now=now)
        for message in messages
    ]
    session.commit()
    return {"recorded": len(kinds), "unsubscribed": kinds.count("unsubscribed")}


class Accepted(NamedTuple):
    gateway: type[SmsGateway]
    request: WebhookRequest


def webhook_variable(gateway: str) -> str:
    """The part after ``CAMPAIGN_SMS_WEBHOOK_SECRET_`` that holds a gateway's secret:
    its name in capitals, other characters than letters and digits as ``_``."""
    return re.sub(r"[^A-Z0-9]", "_", gateway.upper())


def _checked(gateway: str) -> Accepted | ResponseReturnValue:
    """The gateway and its authenticated request, or the answer refusing it."""
    secret = get_campaign().settings.sms_webhook_secrets.get(webhook_variable(gateway))
    try:
        cls = get_plugins().sms_gateways.get(gateway)
    except UnknownPluginError:
        cls = None
    if cls is None or not secret:
        log.warning(
            "SMS webhook: no gateway %r with a secret (from %s)", gateway, request.remote_addr
        )
        return {"error": t("sms_webhook.unknown_gateway")}, 404
    webhook = WebhookRequest(
        body=request.get_data(),
        content_type=request.mimetype,
        headers={name.lower(): value for name, value in request.headers.items()},
        query=request.args.to_dict(),
    )
    try:
        once = cls.authenticate(webhook, secret, utcnow())
    except WebhookRefused as exc:
        return _refused(gateway, exc)
    if once is not None and not public_limiter().first_use(
        f"sms-signature:{gateway}:{once}", 2 * int(SIGNATURE_TOLERANCE.total_seconds())
    ):
        return _refused(gateway, WebhookRefused("replayed signature", unauthenticated=True))
    return Accepted(cls, webhook)


def _refused(gateway: str, exc: WebhookRefused) -> ResponseReturnValue:
    log.warning("SMS webhook %s refused from %s: %s", gateway, request.remote_addr, exc)
    if exc.unauthenticated:
        return {"error": t("sms_webhook.unauthenticated")}, 401
    return {"error": t("sms_webhook.unreadable", problem=str(exc))}, 400
