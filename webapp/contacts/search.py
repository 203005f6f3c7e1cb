"""The contact list's search and filters as one SQL query, fast at 100,000 contacts.

The text search matches the start of the contact number and any part of the names, city and
e-mail address, case-insensitively. Filters are plain column comparisons. The list is ordered
by an indexed sort key with the id as tie-breaker, so LIMIT/OFFSET pages need no full sort
(``ix_contacts_last_name_first_name_id``, ``ix_contacts_city``, the unique number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from core.models import Contact, ContactKind, ContactStatus, DispatchChannel

SORTS = {
    # people by name, then companies (no last name) by company name
    "name": (
        Contact.last_name.asc().nulls_last(),
        Contact.first_name,
        Contact.company_name,
        Contact.id,
    ),
    "number": (Contact.number,),
    "city": (Contact.city, Contact.id),
}
YES_NO = ("yes", "no")


@dataclass(frozen=True)
class ContactFilters:
    """The list's search and filters as read from the query string (unknown values ignored)."""

    text: str = ""
    kind: str = ""
    status: str = ""
    channel: str = ""
    blocked: str = ""
    has_email: str = ""
    sort: str = "name"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ContactFilters:
        def pick(name: str, allowed: tuple[str, ...] | list[str]) -> str:
            value = args.get(name, "")
            return value if value in allowed else ""

        return cls(
            text=args.get("q", "").strip()[:200],
            kind=pick("kind", [kind.value for kind in ContactKind]),
            status=pick("status", [status.value for status in ContactStatus]),
            channel=pick("channel", [channel.value for channel in DispatchChannel]),
            blocked=pick("blocked", YES_NO),
            has_email=pick("has_email", YES_NO),
            sort=pick("sort", list(SORTS)) or "name",
        )

    @property
    def active(self) -> bool:
        return any((self.text, self.kind, self.status, self.channel, self.blocked, self.has_email))


def _escaped(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contact_query(filters: ContactFilters) -> Select[tuple[Contact]]:
    query = select(Contact).order_by(*SORTS[filters.sort])
    if filters.text:
        pattern = f"%{_escaped(filters.text)}%"
        query = query.where(
            or_(
                Contact.number.startswith(filters.text, autoescape=True),
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (
                        Contact.last_name,
                        Contact.first_name,
                        Contact.company_name,
                        Contact.city,
                        Contact.email,
                    )
                ),
                Contact.postcode.startswith(filters.text, autoescape=True),
            )
        )
    if filters.kind:
        query = query.where(Contact.kind == ContactKind(filters.kind))
    if filters.status:
        query = query.where(Contact.status == ContactStatus(filters.status))
    if filters.channel:
        query = query.where(Contact.preferred_channel == DispatchChannel(filters.channel))
    if filters.blocked:
        query = query.where(Contact.dispatch_block.is_(filters.blocked == "yes"))
    if filters.has_email == "yes":
        query = query.where(Contact.email.is_not(None), Contact.email != "")
    elif filters.has_email == "no":
        query = query.where(or_(Contact.email.is_(None), Contact.email == ""))
    return query
