"""Who an action's channel may and can reach: the platform's one definition.

Every run of an action with a channel (post, e-mail, SMS) leaves out contacts with a
dispatch block (always), contacts who opted out of the channel (unless the campaign is
service communication), and recipients without a usable address for it: a letter needs a
name and a complete postal address, an SMS a valid mobile number, an e-mail a valid
address that has not bounced. Docs/engine.md has the whole rule.

The rule is given twice, as SQL (``skip_reason_sql``, for targeting's ``INSERT ... SELECT``)
and as a Python predicate over a recipient's fields (``skip_reason``), and both say the
same, except that e-mail and mobile validity exist only in Python (``checked_in_python``).
Filters, actions and targeting use the same functions, so a filter, a dry run and a real
run agree. The reasons are stored in the ledger as the keys of ``SkipReason``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, null, or_

from core.messaging.mail import valid_email
from core.messaging.sms import normalise_mobile
from core.plugin_base import Channel

DIGITS = "0123456789"
PO_BOX_PREFIXES = ("postfach", "po box", "p.o. box", "postbox")
"""How an ``address_extra`` that is a PO box begins (lower case); a number must follow."""
DEFAULT_REGION = "DE"


class SkipReason(enum.StrEnum):
    """Why a recipient was left out; the value is what the ledger row's detail holds."""

    DISPATCH_BLOCK = "reach.dispatch_block"
    OPT_OUT_POST = "reach.opt_out_post"
    OPT_OUT_EMAIL = "reach.opt_out_email"
    OPT_OUT_SMS = "reach.opt_out_sms"
    INCOMPLETE_ADDRESS = "reach.incomplete_address"
    NO_MOBILE = "reach.no_mobile"
    NO_EMAIL = "reach.no_email"
    EMAIL_UNDELIVERABLE = "reach.email_undeliverable"
    NO_CONSENT_DATA = "reach.no_consent_data"


REASON_TEXTS: dict[str, str] = {
    SkipReason.DISPATCH_BLOCK: "Dispatch block",
    SkipReason.OPT_OUT_POST: "Opted out of post",
    SkipReason.OPT_OUT_EMAIL: "Opted out of e-mail",
    SkipReason.OPT_OUT_SMS: "Opted out of SMS",
    SkipReason.INCOMPLETE_ADDRESS: "Incomplete postal address",
    SkipReason.NO_MOBILE: "No valid mobile number",
    SkipReason.NO_EMAIL: "No valid e-mail address",
    SkipReason.EMAIL_UNDELIVERABLE: "E-mail address undeliverable (bounced)",
    SkipReason.NO_CONSENT_DATA: "No consent data (imported row without a contact)",
}
"""The reasons in English, for the command line (the panel translates them by catalog)."""

OPT_OUTS: dict[Channel, tuple[str, SkipReason]] = {
    Channel.POSTAL: ("opt_out_post", SkipReason.OPT_OUT_POST),
    Channel.EMAIL: ("opt_out_email", SkipReason.OPT_OUT_EMAIL),
    Channel.MOBILE: ("opt_out_sms", SkipReason.OPT_OUT_SMS),
}
"""The contact's opt-out flag per channel and the reason it gives."""
CONSENT_FIELDS = ("dispatch_block", *(flag for flag, _ in OPT_OUTS.values()))
UNDELIVERABLE_FIELD = "email_undeliverable"
"""The contact field holding the address bounces showed undeliverable (workflow inboundMail)."""
ELECTRONIC: dict[Channel, tuple[str, SkipReason]] = {
    Channel.EMAIL: ("email", SkipReason.NO_EMAIL),
    Channel.MOBILE: ("mobile", SkipReason.NO_MOBILE),
}
"""The contact field each electronic channel is reached through."""


def reason_text(detail: str | None) -> str:
    """The text of a ledger detail: a reason's English text, any other detail as it is."""
    return REASON_TEXTS.get(detail or "", detail or "")


# ---------------------------------------------------------------------------------------------
# Python: over a recipient's fields (a contact's, or an imported row's)


def is_present(value: Any) -> bool:
    """The value holds more than whitespace."""
    return value is not None and str(value).strip() != ""


def _has_digit(value: Any) -> bool:
    return value is not None and any(character in DIGITS for character in str(value))


def has_complete_address(data: Mapping[str, Any]) -> bool:
    """A letter can go out: a name (last name or company), a street with a house number or
    a PO box, a postcode and a town, and a country code where one is given."""
    country = data.get("country")
    extra = str(data.get("address_extra") or "").strip().lower()
    return (
        (is_present(data.get("last_name")) or is_present(data.get("company_name")))
        and (
            _has_digit(data.get("street"))
            or (extra.startswith(PO_BOX_PREFIXES) and _has_digit(extra))
        )
        and is_present(data.get("postcode"))
        and is_present(data.get("city"))
        and (not is_present(country) or len(str(country).strip()) == 2)
    )


def valid_mobile(value: Any, region: str = DEFAULT_REGION) -> bool:
    """A number valid in its numbering plan whose type is mobile (or may be mobile);
    national numbers are read in ``region``."""
    try:
        normalise_mobile(value, region)
    except ValueError:
        return False
    return True


def undeliverable(data: Mapping[str, Any]) -> bool:
    """The recipient's e-mail address is the one bounces showed undeliverable."""
    bounced = data.get(UNDELIVERABLE_FIELD)
    return bool(bounced) and str(data.get("email") or "").strip().lower() == bounced


def usable_address(
    data: Mapping[str, Any], channel: Channel, region: str = DEFAULT_REGION
) -> SkipReason | None:
    """Why ``channel`` cannot reach these fields, or None when it can."""
    if channel is Channel.POSTAL:
        return None if has_complete_address(data) else SkipReason.INCOMPLETE_ADDRESS
    if channel is Channel.EMAIL:
        if not valid_email(data.get("email")):
            return SkipReason.NO_EMAIL
        return SkipReason.EMAIL_UNDELIVERABLE if undeliverable(data) else None
    if channel is Channel.MOBILE:
        return None if valid_mobile(data.get("mobile"), region) else SkipReason.NO_MOBILE
    return None


def refusal(data: Mapping[str, Any], channel: Channel, service: bool = False) -> SkipReason | None:
    """Why the contact must not be written to on ``channel``: a block, or an opt-out unless
    the campaign is service communication."""
    if channel is Channel.NONE:
        return None
    if data.get("dispatch_block"):
        return SkipReason.DISPATCH_BLOCK
    flag, reason = OPT_OUTS[channel]
    return reason if data.get(flag) and not service else None


def skip_reason(
    data: Mapping[str, Any],
    channel: Channel,
    *,
    service: bool = False,
    region: str = DEFAULT_REGION,
) -> SkipReason | None:
    """The one rule in Python: why a recipient with these contact fields is left out."""
    return refusal(data, channel, service) or usable_address(data, channel, region)


# ---------------------------------------------------------------------------------------------
# SQL: over a contact table (or an alias of it)


def present(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """SQL ``is_present``: the text holds more than spaces."""
    return and_(column.is_not(None), func.trim(column) != "")


def _has_digit_sql(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """Never NULL: a missing text has no digit."""
    text = func.coalesce(column, "")
    return or_(*(text.contains(digit) for digit in DIGITS))


def complete_address(contact: Any) -> ColumnElement[bool]:
    """SQL ``has_complete_address`` over a contact table."""
    extra = func.lower(func.trim(func.coalesce(contact.address_extra, "")))
    po_box = and_(
        or_(*(extra.startswith(prefix) for prefix in PO_BOX_PREFIXES)),
        _has_digit_sql(contact.address_extra),
    )
    return and_(
        or_(present(contact.last_name), present(contact.company_name)),
        or_(_has_digit_sql(contact.street), po_box),
        present(contact.postcode),
        present(contact.city),
        or_(~present(contact.country), func.length(func.trim(contact.country)) == 2),
    )


def refused(contact: Any, channel: Channel, service: bool = False) -> ColumnElement[bool]:
    """SQL: ``refusal`` gives a reason (a block, or an opt-out that counts)."""
    if channel is Channel.NONE:
        return literal(False)
    flags = [contact.dispatch_block.is_(True)]
    if not service:
        flags.append(getattr(contact, OPT_OUTS[channel][0]).is_(True))
    return or_(*flags)


def skip_reason_sql(contact: Any, channel: Channel, service: bool = False) -> ColumnElement[Any]:
    """SQL ``skip_reason`` as a CASE giving the reason or NULL, except the validity of
    e-mail addresses and mobile numbers (see ``checked_in_python``); a bounced address
    is checked here, so the SQL part may give an address reason before Python's."""
    if channel is Channel.NONE:
        return null()
    whens = [(contact.dispatch_block.is_(True), SkipReason.DISPATCH_BLOCK.value)]
    if not service:
        flag, reason = OPT_OUTS[channel]
        whens.append((getattr(contact, flag).is_(True), reason.value))
    if channel is Channel.POSTAL:
        whens.append((~complete_address(contact), SkipReason.INCOMPLETE_ADDRESS.value))
    if channel is Channel.EMAIL:
        bounced = getattr(contact, UNDELIVERABLE_FIELD)
        undeliverable = and_(bounced.is_not(None), func.lower(func.trim(contact.email)) == bounced)
        whens.append((undeliverable, SkipReason.EMAIL_UNDELIVERABLE.value))
    return case(*whens, else_=null())


def checked_in_python(channel: Channel) -> bool:
    """Whether part of the rule for ``channel`` is Python only (e-mail and mobile validity)."""
    return channel in ELECTRONIC


def _consent_of_records(session: Any, root: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The block and opt-outs of the contact of each record (by record id), read now along
    the entity's contact path; a record without a contact has none (all None)."""
    from sqlalchemy import outerjoin, select
    from sqlalchemy.orm import aliased

    from core.query import ENTITIES, resolve_path

    record = aliased(root.model)
    joined, contact = record, record
    if root.contact_path:
        for relation in resolve_path(root.name, f"{root.contact_path}.id").relations:
            target = aliased(ENTITIES[relation.target].model)
            onclause = getattr(target, relation.remote) == getattr(contact, relation.local)
            joined, contact = outerjoin(joined, target, onclause), target
    columns = [getattr(contact, name) for name in CONSENT_FIELDS]
    rows = session.execute(
        select(record.id, *columns).select_from(joined).where(record.id.in_(ids))
    )
    return {row[0]: dict(zip(CONSENT_FIELDS, row[1:], strict=True)) for row in rows}


def refusals(
    session: Any, recipients: Iterable[Any], channel: Channel, *, service: bool = False
) -> dict[str, SkipReason]:
    """The refused among loaded recipients (by their key), as the dispatcher checks them
    again before the action: the block and opt-outs are read now from the address book,
    whatever fields the data source loaded, so one set after targeting counts. Records
    count through their entity's contact path; imported rows and records of an entity the
    core does not know (an outside source's), as targeting counts them, through the contact
    their ``number`` names (a number that is no contact's: no consent data). Records
    without a contact (sales partners) and groups are not checked."""
    from sqlalchemy import select

    from core.models import Contact, ItemKind
    from core.query import ENTITIES

    if channel is Channel.NONE:
        return {}
    found: dict[str, SkipReason] = {}
    records: dict[str, list[Any]] = {}
    numbered = []
    for recipient in recipients:
        root = ENTITIES.get(recipient.entity)
        if root is None and recipient.entity != ItemKind.GROUP:
            numbered.append(recipient)
        elif root is not None and root.contact_path is not None and recipient.id is not None:
            records.setdefault(recipient.entity, []).append(recipient)
    for entity, loaded in records.items():
        consent = _consent_of_records(session, ENTITIES[entity], [r.id for r in loaded])
        for recipient in loaded:
            if reason := refusal(consent.get(recipient.id, {}), channel, service):
                found[recipient.key] = reason
    numbers = {str(row.data.get("number") or "").strip() for row in numbered} - {""}
    flags = {}
    if numbers:
        columns = [getattr(Contact, name) for name in CONSENT_FIELDS]
        rows = session.execute(select(Contact.number, *columns).where(Contact.number.in_(numbers)))
        flags = {row[0]: dict(zip(CONSENT_FIELDS, row[1:], strict=True)) for row in rows}
    for row in numbered:
        consent = flags.get(str(row.data.get("number") or "").strip())
        reason = (
            SkipReason.NO_CONSENT_DATA if consent is None else refusal(consent, channel, service)
        )
        if reason is not None:
            found[row.key] = reason
    return found
