"""The contact list's search and filters as one SQL query, fast at 100,000 contacts.

Every word of the search must begin one of the contact's number, last name, first name,
company, postcode, city or e-mail address, case-insensitively ("schmi köln" finds Anna
Schmidt in Köln). Matching the start rather than any part is what an index can answer: each
field has an index on ``lower(field)`` (``core.models.addressbook.SEARCH_PREFIX_FIELDS``).
PostgreSQL answers ``lower(field) LIKE 'abc%'`` from its ``text_pattern_ops`` index; SQLite
uses its index only for a range, ``lower(field) >= 'abc' AND lower(field) < 'abc\U0010ffff'``.
SQLite's ``lower`` folds ASCII letters only and leaves "Ö" as it is, so there a word's other
letters are tried in both cases: "özdemir" looks up the ranges of "özdemir" and "Özdemir". A
word with more such letters than ``VARIED_LETTERS`` looks up the ranges of its start and is then
checked whole with ``unicode_lower`` (``core.db.database``).

Filters are plain column comparisons. The list is ordered by an indexed sort key with the id
as tie-breaker (``ix_contacts_last_name_first_name_id``, ``ix_contacts_city``, the number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select
from sqlalchemy.orm import Session

from core.models import Contact, ContactKind, ContactStatus, DispatchChannel
from core.models.addressbook import SEARCH_PREFIX_FIELDS
from webapp.pagination import search_argument

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
            text=search_argument(args),
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


MAX_WORDS = 4
LAST_CHARACTER = "\U0010ffff"


VARIED_LETTERS = 1


def sqlite_starts(word: str) -> tuple[list[str], bool]:
    """What SQLite's ``lower`` leaves of the start of a field that begins with ``word`` in any
    case, and whether those starts stop short of the whole word (at its ``VARIED_LETTERS`` + 1st
    letter that has a case outside ASCII)."""
    starts = [""]
    varied = 0
    for char in word:
        cases = {char.lower(), char.upper()} if not char.isascii() else {char.lower()}
        cases = {case for case in cases if len(case) == 1} or {char}
        if len(cases) > 1:
            if varied == VARIED_LETTERS:
                return starts, True
            varied += 1
        starts = [start + case for start in starts for case in sorted(cases)]
    return starts, False


def _begins(word: str, dialect: str) -> ColumnElement[bool]:
    """Some search field begins with ``word``, in a form the dialect answers from an index."""
    fields = [getattr(Contact, name) for name in SEARCH_PREFIX_FIELDS]
    if dialect != "sqlite":
        return or_(
            *(func.lower(field).startswith(word.lower(), autoescape=True) for field in fields)
        )
    starts, shortened = sqlite_starts(word)
    terms = []
    for field in fields:
        whole = func.unicode_lower(field).startswith(word.lower(), autoescape=True)
        for start in starts:
            term = and_(func.lower(field) >= start, func.lower(field) < start + LAST_CHARACTER)
            terms.append(and_(term, whole) if shortened else term)
    # told the match is rare, SQLite looks the ranges up instead of walking the name index
    # in list order for the first page, which reads every contact when few or none match
    return func.likelihood(or_(*terms), literal_column("0.001"))


def contact_query(filters: ContactFilters, dialect: str) -> Select[tuple[Contact]]:
    """The filtered, ordered contacts; ``dialect`` is the database's (``sqlite``, ...)."""
    query = select(Contact).order_by(*SORTS[filters.sort])
    words = sorted(filters.text.split()[:MAX_WORDS], key=len, reverse=True)
    for word in words:  # the longest, usually the rarest, first: SQLite plans by the first
        query = query.where(_begins(word, dialect))
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


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def matching_contact_ids(text: str, dialect: str) -> Select[tuple[int]]:
    """The ids of the contacts the search ``text`` finds (for filters on other lists)."""
    return (
        contact_query(ContactFilters(text=text), dialect)
        .with_only_columns(Contact.id)
        .order_by(None)
    )
