"""Helpers the filter tests share, and tests of plugins/filters/_common.py.

Every filter test compares the SQL path (``narrow``) with the streaming path (``apply``):
the ids must be the same, also when the stream comes in reverse order.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import BigInteger, Select, func, insert, literal, select
from sqlalchemy.orm import Session

from core import Channel, Recipient
from core.models import Contact, Contract, Product
from core.query import load_records
from plugins.filters._common import PRIME, SeededHash, entity_batches

CONTACT_TARGETS = select(Contact.id.label("id"), Contact.city.label("group_key"))
CONTRACT_TARGETS = select(Contract.id.label("id"), Contract.number.label("group_key"))
ROOT_MODELS = {"contacts": Contact, "contracts": Contract}


@dataclass
class FilterContext:
    """What filters read from ``core.engine.RunContext``, without a runtime."""

    session: Session
    entity: str = "contacts"
    channel: Channel = Channel.NONE
    campaign_id: int | None = None
    run_id: int | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def add_contacts(session: Session, *rows: dict[str, Any]) -> list[int]:
    """Insert contacts (number filled in) and return their ids in the given order."""
    taken = session.scalar(select(func.count()).select_from(Contact))
    values = [
        {"number": f"F-{taken + index:05d}", "attributes": {}, **row}
        for index, row in enumerate(rows, 1)
    ]
    return list(session.scalars(insert(Contact).returning(Contact.id), values))


def add_contracts(session: Session, *contact_ids: int) -> list[int]:
    """One contract per contact id given (repeat an id for several), in that order."""
    product_id = session.scalar(select(Product.id).limit(1)) or session.scalar(
        insert(Product).returning(Product.id), {"code": "HR", "name": "Hausrat"}
    )
    taken = session.scalar(select(func.count()).select_from(Contract))
    values = [
        {
            "number": f"V-{taken + index:05d}",
            "contact_id": contact_id,
            "product_id": product_id,
            "signed_on": datetime(2024, 1, 1).date(),
            "amount": 10,
        }
        for index, contact_id in enumerate(contact_ids, 1)
    ]
    return list(session.scalars(insert(Contract).returning(Contract.id), values))


def sql_ids(recipient_filter, context, query: Select | None = None) -> set[int]:
    """The ids ``narrow`` selects (for a control group: the ones reached)."""
    if query is None:
        query = CONTACT_TARGETS if context.entity == "contacts" else CONTRACT_TARGETS
    narrowed = recipient_filter.narrow(query, context)
    assert narrowed is not None, "expected the filter to narrow in SQL"
    return set(context.session.scalars(select(narrowed.subquery().c.id)))


def recipients_of(session: Session, entity: str) -> list[Recipient]:
    """Every record of ``entity`` as the data sources stream them, by id."""
    ids = list(session.scalars(select(ROOT_MODELS[entity].id).order_by(ROOT_MODELS[entity].id)))
    records = load_records(session, entity, ids)
    return [Recipient(f"{entity}:{i}", entity, i, records[i]) for i in ids]


def passed(recipient_filter, recipients: list[Recipient], context) -> list[Recipient]:
    """What ``apply`` lets through (for a control group: the ones reached), checked to stream
    lazily and, for a control group, to yield everyone."""
    output = list(recipient_filter.apply(iter(recipients), context))
    assert all(recipient.data for recipient in output), "every recipient keeps its data"
    if recipient_filter.holds_out:
        assert sorted(r.key for r in output) == sorted(r.key for r in recipients)
        return [r for r in output if not r.held_out]
    return output


def streamed_ids(recipient_filter, context, *, reverse: bool = False) -> set[int]:
    recipients = recipients_of(context.session, context.entity)
    if reverse:
        recipients.reverse()
    return {r.id for r in passed(recipient_filter, recipients, context)}


def same_in_sql_and_stream(recipient_filter, context) -> set[int]:
    """The ids the filter selects, after checking both paths (and both stream orders) agree."""
    in_sql = sql_ids(recipient_filter, context)
    assert streamed_ids(recipient_filter, context) == in_sql
    assert streamed_ids(recipient_filter, context, reverse=True) == in_sql
    return in_sql


def imported(*rows: dict[str, Any]) -> list[Recipient]:
    """Rows of an imported file (entity "import"), ids 1, 2, ... in file order."""
    return [Recipient(f"import:{n}", "import", n, row) for n, row in enumerate(rows, 1)]


def add_filter_plugins(engine, *names: str) -> None:
    """Add the built-in filter modules to the engine harness's plugin host."""
    for name in names:
        module = f"plugins.filters.{name}"
        engine.runtime.plugins.add(importlib.import_module(module), module, "test")
    assert engine.runtime.plugins.errors == []


# ---------------------------------------------------------------------------------------------


def test_the_seeded_hash_is_the_same_in_sql_and_python(database):
    ids = [1, 2, 3, 999, 65_536, 1_000_000, PRIME - 1, PRIME, 2**31 - 1]
    with database.session() as session:
        for salt, seed in [("limit", 0), ("control_group", 7), ("limit", -3)]:
            seeded = SeededHash.of(salt, seed)
            in_sql = [session.scalar(select(seeded.sql(literal(i, BigInteger)))) for i in ids]
            assert in_sql == [seeded(i) for i in ids]


def test_seeds_and_salts_give_unrelated_samples():
    ids = range(1, 20_001)
    tenth = PRIME // 10

    def sample(salt, seed):
        seeded = SeededHash.of(salt, seed)
        return {i for i in ids if seeded(i) < tenth}

    first, second, other = sample("limit", 0), sample("limit", 1), sample("control_group", 0)
    assert 1_800 < len(first) < 2_200
    # independent samples of 10 % share about 10 % of their members
    assert 100 < len(first & second) < 300
    assert 100 < len(first & other) < 300


def test_entity_batches_split_by_entity_and_size():
    recipients = [Recipient(f"a:{n}", "a", n) for n in range(1, 1202)]
    recipients += [Recipient("b:1", "b", 1)]
    sizes = [(entity, len(batch)) for entity, batch in entity_batches(iter(recipients))]
    assert sizes == [("a", 500), ("a", 500), ("a", 201), ("b", 1)]


@pytest.mark.parametrize(
    "name", ["channel", "consent", "dedupe", "exclusion", "condition", "limit", "control_group"]
)
def test_every_filter_module_registers_one_filter_named_like_it(name):
    registered = []
    importlib.import_module(f"plugins.filters.{name}").register_recipient_filters(registered.append)
    assert [cls.name for cls in registered] == [name]
    registered[0].check_definition()
