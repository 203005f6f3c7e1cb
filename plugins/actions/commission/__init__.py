"""Action "commission" ("Insert commission"): a broker booking for the sales partner of every
recipient of a run.

A recipient is a contract or a contact (the booking goes to its sales partner) or a sales
partner itself. The amount is fixed, or a rate in percent applied to a numeric field of the
record (a contract's premium ``amount``); the rate is fixed or read from the record too
(``partner.commission_rate``). Amounts are computed with ``Decimal`` and rounded half up to
the currency's minor unit (cents). The booking text is a sandboxed template
(``core.documents.templating``) filled from the record.

The booking is added to the engine's transaction (``external_effects = False``): it commits
together with the recipient's ledger outcome, and ``(run_id, ledger_key)`` is unique, so a
chunk done again after a killed worker books nothing twice. A recipient without a partner or
without a usable number fails alone, with the reason. Listing and reversing a run's bookings
live in ``bookings``; ``campaign commission list|reverse RUN_ID`` calls them. The bookings
table is the action's own (``models``), created by its Alembic branch (``migrations``).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click
from babel.core import get_global
from babel.numbers import get_currency_precision, get_territory_currencies
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from core import Action, Channel, Outcome, Recipient, hookimpl
from core.clock import utcnow
from core.db.database import Database
from core.documents.templating import (
    LOCAL_TIME,
    CompiledTemplate,
    compile_template,
    format_date,
    nest,
)
from core.messages import ExplainedError, english_plural, stored_for
from core.models import Run
from core.query.entities import ENTITIES, EntitySpec, FieldType
from plugins.actions import TRANSLATIONS
from plugins.actions.commission.bookings import (
    ReversalError,
    reverse_run,
    run_bookings,
    run_reversal,
    run_totals,
)
from plugins.actions.commission.models import AMOUNT_DIGITS, AMOUNT_PLACES, CommissionBooking

MAX_TEMPLATE = 1000
TEXT_LENGTH = CommissionBooking.__table__.c.text.type.length
MAX_AMOUNT = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)
"""The first amount the bookings table cannot hold."""
BOOKING_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$")
PARTNER_ENTITY = "partners"
LIST_PAGE = 1000
stored = stored_for(__name__)


def compiled(template: str) -> CompiledTemplate:
    """The booking text's template, compiled once per process (validation and every chunk
    reuse it): plain text, at most as long as the bookings table holds."""
    return compile_template(template, html=False, max_source=MAX_TEMPLATE, max_output=TEXT_LENGTH)


@functools.lru_cache(maxsize=1)
def numeric_fields() -> tuple[str, ...]:
    """The numeric fields records carry (see ``core.query.records``: an entity's own fields
    and, as ``relation.field``, those of its to-one relations), ids left out."""

    def numbers(entity: EntitySpec) -> list[str]:
        return [
            name
            for name, spec in entity.fields.items()
            if spec.type is FieldType.NUMBER and name != "id"
        ]

    names = set()
    for entity in ENTITIES.values():
        names.update(numbers(entity))
        for relation in entity.relations.values():
            if not relation.to_many:
                names.update(
                    f"{relation.name}.{name}" for name in numbers(ENTITIES[relation.target])
                )
    return tuple(sorted(names))


@functools.lru_cache(maxsize=1)
def legal_tender() -> frozenset[str]:
    """ISO 4217 codes of the currencies some country uses today (CLDR data via Babel): no
    withdrawn currencies such as DEM, no precious metals or test codes."""
    today = utcnow().date()
    return frozenset(
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, today)
    )


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for EUR, 1 for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


class CommissionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    booking_key: str = Field(
        description="Booking key: the commission type, e.g. AP for Abschlussprovision."
    )
    text: str = Field(
        min_length=1,
        max_length=MAX_TEMPLATE,
        description="Booking text with placeholders of the record, e.g. "
        "'Abschlussprovision {{ number }} {{ product.name }}'.",
    )
    booking_date: date | None = Field(
        default=None, description="A fixed booking date; empty: the day the run was started."
    )
    currency: str = Field(default="EUR", description="ISO 4217 code of the amounts.")
    amount: Decimal | None = Field(
        default=None,
        gt=0,
        lt=MAX_AMOUNT,
        description="A fixed amount for every booking; or leave it empty and give a field.",
    )
    rate_percent: Decimal | None = Field(
        default=None, gt=0, le=10_000, decimal_places=4, description="The rate in percent."
    )
    rate_field: str | None = Field(
        default=None,
        description="Instead of rate_percent: a numeric field of the record holding the rate "
        "in percent, e.g. partner.commission_rate.",
    )
    field: str | None = Field(
        default=None,
        validate_default=True,
        description="Numeric field of the record the rate applies to, e.g. amount (a contract's "
        "premium).",
    )
    paying_company: str = Field(
        min_length=1, max_length=200, description="The company that pays the commission."
    )
    vat: bool = Field(default=False, description="The commission is subject to VAT.")

    @field_validator("booking_key")
    @classmethod
    def _booking_key(cls, key: str) -> str:
        if not BOOKING_KEY.match(key):
            raise ExplainedError(
                stored(
                    "'{key}' is not a booking key: 1 to 20 letters, digits, '_', '.' or '-'",
                    key=key,
                )
            )
        return key

    @field_validator("text")
    @classmethod
    def _compiles(cls, text: str) -> str:
        compiled(text)
        return text

    @field_validator("currency")
    @classmethod
    def _currency(cls, currency: str) -> str:
        code = currency.strip().upper()
        if code not in legal_tender():
            raise ExplainedError(
                stored(
                    "unknown currency '{currency}'; use an ISO 4217 code such as EUR",
                    currency=currency,
                )
            )
        if get_currency_precision(code) > AMOUNT_PLACES:
            raise ExplainedError(
                stored(
                    "{code} has {places} decimal places; commission bookings keep at most {most}",
                    code=code,
                    places=get_currency_precision(code),
                    most=AMOUNT_PLACES,
                )
            )
        return code

    @field_validator("amount")
    @classmethod
    def _amount_fits_currency(cls, amount: Decimal | None, info: ValidationInfo) -> Any:
        currency = info.data.get("currency")
        if amount is not None and currency and amount != amount.quantize(minor_unit(currency)):
            places = get_currency_precision(currency)
            raise ExplainedError(
                stored(
                    "{currency} amounts have at most {places} decimal places",
                    currency=currency,
                    places=places,
                )
            )
        return amount

    @field_validator("rate_field")
    @classmethod
    def _numeric_rate_field(cls, rate_field: str | None) -> str | None:
        if rate_field is not None:
            _check_numeric(rate_field)
        return rate_field

    @field_validator("field")
    @classmethod
    def _amount_or_rate_of_field(cls, field: str | None, info: ValidationInfo) -> str | None:
        """Either a fixed amount, or a field with exactly one rate; checked last, so the
        message can name what is missing."""
        if field is not None:
            _check_numeric(field)
        if not {"amount", "rate_percent", "rate_field"} <= info.data.keys():
            return field  # one of them is wrong, and its own error says so
        amount, rate, rate_field = (
            info.data[key] for key in ("amount", "rate_percent", "rate_field")
        )
        if field is None:
            if rate is not None or rate_field is not None:
                raise ValueError("a rate needs field, the number it applies to")
            if amount is None:
                raise ValueError("give a fixed amount, or a field with rate_percent or rate_field")
        elif amount is not None:
            raise ValueError("give a fixed amount or a field a rate applies to, not both")
        elif rate is not None and rate_field is not None:
            raise ValueError("give rate_percent or rate_field, not both")
        elif rate is None and rate_field is None:
            raise ValueError("field needs a rate: give rate_percent or rate_field")
        return field


def _check_numeric(field: str) -> None:
    if field not in numeric_fields():
        raise ExplainedError(
            stored(
                "unknown numeric field '{field}'; known: {known}",
                field=field,
                known=list(numeric_fields()),
            )
        )


class NothingToBook(Exception):
    """The commission comes to zero: the recipient is skipped, not failed."""


@dataclass(frozen=True)
class RunFacts:
    """What every booking of a chunk takes from its run, read once per chunk."""

    day: date
    started_by: str | None
    reversed: bool


def number_in(data: Mapping[str, Any], field: str) -> Decimal:
    """The value of ``field`` as a Decimal, or a ValueError saying why there is none (as
    ``label: value`` parts the panel translates)."""
    if field not in data:
        raise ValueError(f"the record has no field: {field}")
    value = data[field]
    if value is None or value == "":
        raise ValueError(f"empty field: {field}")
    if isinstance(value, bool):
        raise ValueError(f"not a number: {field}; value: {value!r}")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, float | str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a number: {field}; value: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a number: {field}; value: {value!r}")
    if abs(number) >= MAX_AMOUNT:
        raise ValueError(f"too large: {field}; value: {value!r}")
    return number


def partner_of(recipient: Recipient) -> tuple[int, str | None]:
    """The sales partner a recipient's commission goes to: the partner record itself, or the
    partner of a contract or contact."""
    data = recipient.data
    if recipient.entity == PARTNER_ENTITY:
        return int(recipient.id), data.get("number")  # type: ignore[arg-type]
    if "partner.id" not in data:
        raise ValueError(f"records without a sales partner (partner.id): {recipient.entity}")
    if data["partner.id"] is None:
        raise ValueError("no sales partner")
    return int(data["partner.id"]), data.get("partner.number")


class Commission(Action):
    name = "commission"
    title = "Insert commission"
    description = (
        "Books a commission for the sales partner of every contract or contact (or for every "
        "sales partner): a fixed amount or a rate of a field such as the premium, with booking "
        "key, text, date, currency, paying company and VAT flag. A run's bookings can be "
        "listed and reversed as a whole."
    )
    Params = CommissionParams
    params: CommissionParams
    channel = Channel.NONE
    cost_unit = "bookings"
    external_effects = False
    chunk_size = 500

    def __init__(self, params: Any = None):
        super().__init__(params)
        self.template = compiled(self.params.text)
        self.quantum = minor_unit(self.params.currency)
        self._run: RunFacts | None = None

    def process(self, recipient: Recipient, context: Any) -> Outcome:
        run = self._run_facts(context)
        if run.reversed:
            return Outcome.failed("the bookings of this run were reversed; it books nothing more")
        try:
            booking = self.compose(recipient, run)
        except NothingToBook as exc:
            return Outcome.skipped(str(exc))
        except ValueError as exc:
            return Outcome.failed(str(exc))
        booking.campaign_id = context.campaign_id
        booking.run_id = context.run_id
        booking.created_at = context.now
        context.session.add(booking)  # not flushed: see core.documents.archive.archive_document
        return Outcome.done(f"booked: {_describe(booking)}")

    def preview(self, recipient: Recipient, context: Any) -> str:
        try:
            booking = self.compose(recipient, self._run_facts(context))
        except (NothingToBook, ValueError) as exc:
            return f"no booking: {exc}"
        return f"would book: {_describe(booking)}; text: {booking.text}"

    def compose(self, recipient: Recipient, run: RunFacts) -> CommissionBooking:
        """The booking for ``recipient``; a ValueError says why there can be none."""
        partner_id, partner_number = partner_of(recipient)
        amount, basis, rate = self.amount_of(recipient.data)
        text = self.template.render(nest(recipient.data)).strip()
        if not text:
            raise ValueError("the booking text is empty")
        return CommissionBooking(
            entity=recipient.entity,
            entity_id=recipient.id,
            ledger_key=recipient.key,
            partner_id=partner_id,
            partner_number=partner_number,
            booking_key=self.params.booking_key,
            text=text,
            booking_date=self.params.booking_date or run.day,
            amount=amount,
            currency=self.params.currency,
            basis=basis,
            rate_percent=rate,
            paying_company=self.params.paying_company,
            vat=self.params.vat,
            created_by=run.started_by,
        )

    def amount_of(self, data: Mapping[str, Any]) -> tuple[Decimal, Decimal | None, Decimal | None]:
        """(amount, basis, rate in percent); the amount is rounded half up to the minor unit."""
        params = self.params
        if params.amount is not None:
            return params.amount.quantize(self.quantum), None, None
        basis = number_in(data, params.field)  # type: ignore[arg-type]
        rate = params.rate_percent
        if rate is None:
            rate = number_in(data, params.rate_field)  # type: ignore[arg-type]
        amount = (basis * rate / 100).quantize(self.quantum, rounding=ROUND_HALF_UP)
        currency = params.currency
        if amount < 0:
            raise ValueError(f"the commission would be negative: {amount} {currency}")
        if amount == 0:
            raise NothingToBook(f"nothing to book: commission: {amount} {currency}")
        if amount >= MAX_AMOUNT:
            raise ValueError(f"the commission is too large: {amount} {currency}")
        return amount, basis, rate

    def _run_facts(self, context: Any) -> RunFacts:
        if self._run is None:
            run = context.session.get(Run, context.run_id)
            started = run.created_at if run is not None else context.now
            self._run = RunFacts(
                day=started.astimezone(LOCAL_TIME).date(),
                started_by=run.started_by if run is not None else None,
                reversed=run_reversal(context.session, context.run_id) is not None,
            )
        return self._run


def _describe(booking: CommissionBooking) -> str:
    """Labelled parts, each of which the panel translates (``webapp.i18n.translate_stored``)."""
    partner = booking.partner_number or f"#{booking.partner_id}"
    return (
        f"{booking.amount} {booking.currency}; partner: {partner}; booking key: "
        f"{booking.booking_key}; booking date: {format_date(booking.booking_date)}"
    )


@hookimpl
def register_actions(register: Callable[[type[Action]], None]) -> None:
    register(Commission)


# --- campaign commission list|reverse ----------------------------------------------------


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.group("commission")
    def commission() -> None:
        """Commission bookings of campaign runs."""

    @commission.command("list")
    @click.argument("run_id", type=int)
    @click.option("--totals", "totals_only", is_flag=True, help="Only the totals per currency.")
    @click.pass_obj
    def list_command(state: Any, run_id: int, totals_only: bool) -> None:
        """List the bookings of run RUN_ID with totals per currency."""
        database = Database(state.settings.database_url)
        try:
            with database.session() as session:
                run = _run_or_fail(session, run_id)
                if not totals_only:
                    _echo_bookings(session, run_id)
                _echo_totals(session, run)
        finally:
            database.dispose()

    @commission.command("reverse")
    @click.argument("run_id", type=int)
    @click.option("--by", default=None, help="Who reverses them (default: $USER).")
    @click.option(
        "--date",
        "booking_date",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Booking date of the counter-bookings (default: today).",
    )
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.pass_obj
    def reverse_command(
        state: Any, run_id: int, by: str | None, booking_date: datetime | None, yes: bool
    ) -> None:
        """Reverse every booking of run RUN_ID with a counter-booking (once only)."""
        database = Database(state.settings.database_url)
        try:
            with database.session() as session:
                run = _run_or_fail(session, run_id)
                totals = run_totals(session, run_id)
                count = sum(total.bookings for total in totals)
                amounts = ", ".join(f"{total.booked} {total.currency}" for total in totals)
                if count and not yes:
                    click.confirm(
                        english_plural(
                            "Reverse {0} booking of run #{1} ({2})?",
                            "Reverse {0} bookings of run #{1} ({2})?",
                            count,
                            run.number,
                            amounts,
                        ),
                        abort=True,
                    )
                try:
                    reversal = reverse_run(
                        session,
                        run_id,
                        by=by or os.environ.get("USER", "cli"),
                        booking_date=booking_date.date() if booking_date else None,
                    )
                except ReversalError as exc:
                    raise click.ClickException(str(exc)) from None
        finally:
            database.dispose()
        counter = english_plural("{0} counter-booking", "{0} counter-bookings", reversal.count)
        click.echo(
            f"{counter} dated {format_date(reversal.booking_date)} by {reversal.reversed_by}"
        )


def _run_or_fail(session: Any, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise click.ClickException(f"no run with id {run_id}")
    return run


def _echo_bookings(session: Any, run_id: int) -> None:
    last = 0
    while page := run_bookings(session, run_id, after_id=last, limit=LIST_PAGE):
        for booking in page:
            click.echo(
                f"{booking.id:>8}  {booking.kind:<8}  {format_date(booking.booking_date)}  "
                f"{booking.partner_number or booking.partner_id or '-':<10}  "
                f"{booking.booking_key:<6}  {booking.amount:>14} {booking.currency}  "
                f"{'VAT' if booking.vat else '   '}  {booking.text}"
            )
        last = page[-1].id


def _echo_totals(session: Any, run: Run) -> None:
    totals = run_totals(session, run.id)
    if not totals:
        click.echo(f"run #{run.number} has no commission bookings")
        return
    for total in totals:
        bookings = english_plural("{0} booking", "{0} bookings", total.bookings)
        reversals = english_plural("{0} reversal", "{0} reversals", total.reversals)
        click.echo(
            f"{total.currency}: {bookings} {total.booked}, "
            f"{reversals} {total.reversed}, net {total.net}"
        )
    reversal = run_reversal(session, run.id)
    if reversal is not None:
        click.echo(
            f"reversed on {format_date(reversal.reversed_at)} by {reversal.reversed_by} "
            f"(counter-bookings dated {format_date(reversal.booking_date)})"
        )


@hookimpl
def register_migrations(register: Callable[[Path], None]) -> None:
    """The action's own Alembic branch: its bookings table, taken over from the core."""
    register(Path(__file__).with_name("migrations"))


@hookimpl
def register_translations(register: Callable[[Path], None]) -> None:
    register(TRANSLATIONS)
