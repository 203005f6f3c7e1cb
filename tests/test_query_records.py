"""Whole records for chunks of ids, with their to-one relations, without N+1 queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.engine.default import CACHE_HIT

from core.db.database import Database
from core.models import (
    Contact,
    ContactStatus,
    Contract,
    ContractStatus,
    DispatchChannel,
    Product,
    SalesPartner,
)
from core.query import ENTITIES, load_records, record_fields
from core.query.records import prepare_loading

SIGNED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def fill(database: Database, contracts: int = 5) -> None:
    with database.session() as session:
        partner = SalesPartner(number="SP1", name="Anna Agent", commission_rate=Decimal("7.50"))
        product = Product(code="HR", name="Hausrat", category="Sach", monthly_price=Decimal("9.90"))
        people = [
            Contact(
                number=f"K{i}",
                first_name="Jörg",
                last_name=f"Müller {i}",
                email=f"k{i}@example.org",
                birth_date=date(1980, 1, i + 1),
                status=ContactStatus.CUSTOMER,
                preferred_channel=DispatchChannel.EMAIL,
                partner=partner if i % 2 == 0 else None,
                created_at=SIGNED,
            )
            for i in range(contracts)
        ]
        session.add_all([partner, product, *people])
        session.add_all(
            Contract(
                number=f"V{i}",
                contact=person,
                product=product,
                partner=person.partner,
                signed_on=date(2024, 3, 1),
                amount=Decimal("100.50") + i,
                status=ContractStatus.ACTIVE,
                created_at=SIGNED,
            )
            for i, person in enumerate(people)
        )


def test_record_fields():
    fields = record_fields("contracts")
    assert fields[: len(ENTITIES["contracts"].fields)] == list(ENTITIES["contracts"].fields)
    assert {"contact.email", "contact.last_name", "product.name", "partner.number"} <= set(fields)
    assert not any(key.startswith("contracts.") for key in record_fields("contacts"))
    assert "partner.number" in record_fields("contacts")
    assert record_fields("products") == list(ENTITIES["products"].fields)


def test_contract_records_with_their_relations(database: Database):
    fill(database)
    with database.session() as session:
        ids = list(session.scalars(select(Contract.id).order_by(Contract.number)))
    with database.session() as session, counted(database) as statements:
        records = load_records(session, "contracts", ids)
    assert len(statements) == 1
    assert sorted(records) == sorted(ids)
    first = records[ids[0]]
    assert set(first) == set(record_fields("contracts"))
    assert first["number"] == "V0"
    assert first["amount"] == Decimal("100.50")
    assert first["signed_on"] == date(2024, 3, 1)
    assert first["status"] == "active" and type(first["status"]) is str
    assert first["created_at"] == SIGNED and first["created_at"].tzinfo is not None
    assert first["contact.email"] == "k0@example.org"
    assert first["contact.last_name"] == "Müller 0"
    assert first["contact.preferred_channel"] == "email"
    assert type(first["contact.preferred_channel"]) is str
    assert first["product.name"] == "Hausrat"
    assert first["product.monthly_price"] == Decimal("9.90")
    assert first["partner.number"] == "SP1"
    assert first["partner.commission_rate"] == Decimal("7.50")
    second = records[ids[1]]
    assert second["partner.number"] is None
    assert second["partner.name"] is None


def test_contact_records(database: Database):
    fill(database, 3)
    with database.session() as session:
        ids = list(session.scalars(select(Contact.id).order_by(Contact.number)))
        records = load_records(session, "contacts", ids)
    record = records[ids[0]]
    assert record["status"] == "customer"
    assert record["birth_date"] == date(1980, 1, 1)
    assert record["dispatch_block"] is False
    assert record["partner.name"] == "Anna Agent"
    assert records[ids[1]]["partner.name"] is None
    assert "attributes" not in record


def test_chunks_unknown_and_repeated_ids(database: Database):
    fill(database, 5)
    with database.session() as session:
        ids = list(session.scalars(select(Contract.id).order_by(Contract.id)))
    with database.session() as session, counted(database) as statements:
        records = load_records(session, "contracts", [*ids, ids[0], 999_999], chunk_size=2)
    assert len(statements) == 3  # six distinct ids, two per query
    assert sorted(records) == ids
    with database.session() as session:
        assert load_records(session, "contracts", []) == {}


def test_prepared_loading_leaves_every_entity_compiled_for_the_forked_work_horses(
    database: Database,
):
    fill(database, contracts=2)
    with database.session() as session:
        prepare_loading(session)
    cache = []

    def note(_conn, _cursor, _statement, _parameters, context, _many) -> None:
        cache.append(context.cache_hit)

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        with database.session() as session:
            loaded = {root: load_records(session, root, [1, 2]) for root in ENTITIES}
    finally:
        event.remove(database.engine, "before_cursor_execute", note)
    assert cache == [CACHE_HIT] * len(ENTITIES)
    assert sorted(loaded["contracts"]) == [1, 2]
