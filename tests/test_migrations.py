"""Existing databases upgrade without loss: a database at the core's revision
``0021_run_confirmation`` (the head before plugins had branches of their own) with a row in
every table is brought to today's heads, and every row is still there. The campaign-process
tables, created by the core's revisions up to ``0028_workflow_settings``, go to the bundle's
own branch: dropped and created again where they were empty, adopted with their rows
otherwise, and absent from a new database while the bundle is disabled. The commission
bookings and the inbound mails go the same way to the branches of the commission action
and the inboundMail workflow (``0031_owner_tables_handover``), each table on its own.
The webhook tables of ``0027_webhooks`` go to the webhooks plugin's branch
(``0032_webhook_tables_handover``) the way the process tables went to the bundle's.

The rows are generated from the reflected schema (NOT NULL columns, foreign keys to the
rows of the referred tables), with the models' enum types for the values their CHECK
constraints allow; so a table or column a later revision adds is covered without
touching this test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, Engine, MetaData, Table, inspect, select, types
from sqlalchemy.exc import DBAPIError

from core.db.database import Database
from core.db.schema import (
    branch_states,
    current_heads,
    downgrade,
    missing_heads,
    upgrade,
)
from core.migrations.owner_tables import TABLES as OWNER_TABLES
from core.migrations.process_tables import TABLES as PROCESS_TABLES
from core.migrations.process_tables import PartialProcessTablesError
from core.migrations.webhook_tables import TABLES as WEBHOOK_TABLES
from core.models import Base
from core.plugins import PluginHost, load_plugins

BEFORE_PLUGIN_BRANCHES = "0021_run_confirmation"
BEFORE_HANDOVER = "0028_workflow_settings"
PROCESSES_BRANCH = "processes_0001_tables"
PROCESSES_HEAD = "processes_0002_confirmed_count"
BEFORE_OWNER_HANDOVER = "0030_stored_messages"
BEFORE_WEBHOOK_HANDOVER = "0031_owner_tables_handover"
ADDED_SINCE_THE_HANDOVERS = {"hourly_claims"}
"""The core's tables that its revisions after the handovers added: a downgrade below them
drops them with their rows."""
WEBHOOKS_BRANCH = "webhooks_0001_tables"
OWNERS = {
    "commission_bookings": ("plugins.actions.commission", "commission", "commission_0001_bookings"),
    "inbound_mails": (
        "plugins.workflows.inbound_mail",
        "inbound_mail",
        "inbound_mail_0001_mails",
    ),
}
"""Each handed-over table's plugin, branch label and first revision."""
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def database_at_0021(database: Database) -> Database:
    downgrade(database.engine, "base")
    upgrade(database.engine, BEFORE_PLUGIN_BRANCHES, plugins=PluginHost())
    assert current_heads(database.engine) == (BEFORE_PLUGIN_BRANCHES,)
    return database


@pytest.fixture
def database_at_0028(database: Database) -> Database:
    """The last core revision that created the process tables, with none of their rows."""
    downgrade(database.engine, "base")
    upgrade(database.engine, BEFORE_HANDOVER, plugins=PluginHost())
    assert current_heads(database.engine) == (BEFORE_HANDOVER,)
    assert set(PROCESS_TABLES) <= set(inspect(database.engine).get_table_names())
    return database


@pytest.fixture
def database_at_0030(database: Database) -> Database:
    """The last core revision that created the commission bookings and the inbound mails."""
    downgrade(database.engine, "base")
    upgrade(database.engine, BEFORE_OWNER_HANDOVER, plugins=PluginHost())
    assert current_heads(database.engine) == (BEFORE_OWNER_HANDOVER,)
    assert owner_tables(database.engine) == set(OWNER_TABLES)
    return database


@pytest.fixture
def database_at_0031(database: Database) -> Database:
    """The last core revision with the webhook tables, with none of their rows."""
    downgrade(database.engine, "base")
    upgrade(database.engine, BEFORE_WEBHOOK_HANDOVER, plugins=PluginHost())
    assert current_heads(database.engine) == (BEFORE_WEBHOOK_HANDOVER,)
    assert set(WEBHOOK_TABLES) <= set(inspect(database.engine).get_table_names())
    return database


def without_webhooks() -> PluginHost:
    """The installation with ``CAMPAIGN_DISABLE_PLUGINS=plugins.webhooks``."""
    return load_plugins(disabled=["plugins.webhooks"])


def webhook_tables(engine: Engine) -> set[str]:
    return set(WEBHOOK_TABLES) & set(inspect(engine).get_table_names())


def without_processes() -> PluginHost:
    """The installation with ``CAMPAIGN_DISABLE_PLUGINS=plugins.processes``."""
    return load_plugins(disabled=["plugins.processes"])


def process_tables(engine: Engine) -> set[str]:
    return set(PROCESS_TABLES) & set(inspect(engine).get_table_names())


def without_owners() -> PluginHost:
    """The installation with the commission action and the inboundMail workflow disabled."""
    return load_plugins(disabled=[plugin for plugin, _label, _first in OWNERS.values()])


def owner_tables(engine: Engine) -> set[str]:
    return set(OWNER_TABLES) & set(inspect(engine).get_table_names())


def add_a_row(engine: Engine, name: str) -> None:
    """A generated row in one table, its optional references left empty."""
    with engine.begin() as connection:
        insert_one_row(connection, Table(name, MetaData(), autoload_with=connection), {})


def links_to_process_tables(engine: Engine) -> set[str]:
    """The foreign keys from the core's campaigns and runs to the bundle's tables."""
    inspector = inspect(engine)
    return {
        key["name"]
        for table in ("campaigns", "runs")
        for key in inspector.get_foreign_keys(table)
        if key["referred_table"] in PROCESS_TABLES
    }


def models_differ(engine: Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


LINKS = {
    "fk_campaigns_program_id_programs",
    "fk_campaigns_provider_service_id_provider_services",
    "fk_runs_delivery_id_deliveries",
}


def test_a_new_database_without_the_bundle_has_none_of_its_tables(database: Database):
    engine = database.engine
    downgrade(engine, "base")
    upgrade(engine, plugins=without_processes())

    assert process_tables(engine) == set()
    assert links_to_process_tables(engine) == set()
    assert not missing_heads(engine, without_processes())
    assert not {PROCESSES_BRANCH, PROCESSES_HEAD} & set(current_heads(engine))
    schema = MetaData()
    schema.reflect(engine)
    campaigns, runs = schema.tables["campaigns"], schema.tables["runs"]
    with engine.begin() as connection:  # plain numbers while nothing they name exists
        fill_every_table(connection, schema)
        connection.execute(campaigns.update().values(program_id=7, provider_service_id=7))
        connection.execute(runs.update().values(delivery_id=7))

    upgrade(engine, plugins=load_plugins())  # enabled later: the branch creates them
    assert process_tables(engine) == set(PROCESS_TABLES)
    assert links_to_process_tables(engine) == LINKS
    assert models_differ(engine) == []
    with engine.connect() as connection:  # as ON DELETE SET NULL would have left them
        links = select(campaigns.c.program_id, campaigns.c.provider_service_id)
        assert connection.execute(links).one() == (None, None)
        assert connection.scalar(select(runs.c.delivery_id)) is None


def test_the_handover_drops_empty_process_tables_and_the_bundle_creates_them_again(
    database_at_0028: Database,
):
    engine = database_at_0028.engine
    upgrade(engine, plugins=without_processes())
    assert process_tables(engine) == set()
    assert links_to_process_tables(engine) == set()

    upgrade(engine, plugins=load_plugins())
    assert process_tables(engine) == set(PROCESS_TABLES)
    assert links_to_process_tables(engine) == LINKS
    assert models_differ(engine) == []
    states = {state.name: state.database for state in branch_states(engine, load_plugins())}
    assert states["plugins.processes"] == PROCESSES_HEAD


def test_process_tables_holding_rows_stay_while_the_bundle_is_disabled_and_are_adopted(
    database_at_0028: Database,
):
    """The bundle disabled on a database with process data: its tables, rows and keys stay
    untouched; enabled again, its branch takes them over as they are."""
    engine = database_at_0028.engine
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        fill_every_table(connection, schema)
    before = primary_keys(database_at_0028, schema)
    assert all(before[name] for name in PROCESS_TABLES)

    upgrade(engine, plugins=without_processes())
    assert primary_keys(database_at_0028, schema) == before
    assert links_to_process_tables(engine) == LINKS
    with engine.connect() as connection:
        campaign = schema.tables["campaigns"]
        assert connection.scalar(select(campaign.c.program_id)) is not None

    upgrade(engine, plugins=load_plugins())
    assert not missing_heads(engine, load_plugins())
    assert primary_keys(database_at_0028, schema) == before
    assert models_differ(engine) == []


def test_a_single_process_row_keeps_every_process_table(database_at_0028: Database):
    engine = database_at_0028.engine
    with engine.begin() as connection:
        plans = Table("plans", MetaData(), autoload_with=connection)
        connection.execute(
            plans.insert().values(
                name="Jahresplan", description="", calculated_cost=0, created_at=NOW, updated_at=NOW
            )
        )
    upgrade(engine, plugins=without_processes())
    assert process_tables(engine) == set(PROCESS_TABLES)
    upgrade(engine, plugins=load_plugins())
    with engine.connect() as connection:
        assert connection.scalar(select(plans.c.name)) == "Jahresplan"


def test_the_bundles_base_drops_its_tables_only_when_they_are_empty(database: Database):
    """``campaign db downgrade processes@base`` and going below the handover keep rows."""
    engine = database.engine
    downgrade(engine, "processes@base")
    assert process_tables(engine) == set() and links_to_process_tables(engine) == set()
    downgrade(engine, "0027_webhooks")  # below the handover the core's revisions have them
    assert process_tables(engine) == set(PROCESS_TABLES)
    assert links_to_process_tables(engine) == LINKS

    upgrade(engine, plugins=load_plugins())
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        fill_every_table(connection, schema)
    before = primary_keys(database, schema)
    downgrade(engine, "processes@base")
    assert primary_keys(database, schema) == before
    assert links_to_process_tables(engine) == LINKS
    upgrade(engine, plugins=load_plugins())
    assert primary_keys(database, schema) == before


def test_a_database_with_only_some_process_tables_is_refused_with_their_names(
    database_at_0028: Database,
):
    engine = database_at_0028.engine
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE cost_lines RENAME TO cost_lines_aside")
    with pytest.raises(PartialProcessTablesError, match="26 of 27; missing: cost_lines"):
        upgrade(engine, plugins=without_processes())
    assert current_heads(engine) == (BEFORE_HANDOVER,)
    assert process_tables(engine) == set(PROCESS_TABLES) - {"cost_lines"}
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE cost_lines_aside RENAME TO cost_lines")


@pytest.mark.parametrize("table", sorted(OWNERS))
def test_a_new_database_without_a_tables_owner_does_not_have_it(database: Database, table: str):
    plugin, _label, first = OWNERS[table]
    without = load_plugins(disabled=[plugin])
    engine = database.engine
    downgrade(engine, "base")
    upgrade(engine, plugins=without)

    assert owner_tables(engine) == set(OWNER_TABLES) - {table}
    assert not missing_heads(engine, without)
    assert first not in current_heads(engine)

    upgrade(engine, plugins=load_plugins())  # enabled later: its branch creates it
    assert owner_tables(engine) == set(OWNER_TABLES)
    assert models_differ(engine) == []


def test_the_handover_drops_empty_owner_tables_and_their_owners_create_them_again(
    database_at_0030: Database,
):
    engine = database_at_0030.engine
    upgrade(engine, plugins=without_owners())
    assert owner_tables(engine) == set()

    upgrade(engine, plugins=load_plugins())
    assert owner_tables(engine) == set(OWNER_TABLES)
    assert models_differ(engine) == []
    states = {state.name: state.database for state in branch_states(engine, load_plugins())}
    for plugin, _label, first in OWNERS.values():
        assert states[plugin] == first


def test_owner_tables_holding_rows_stay_while_their_owners_are_disabled_and_are_adopted(
    database_at_0030: Database,
):
    engine = database_at_0030.engine
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        fill_every_table(connection, schema)
    before = primary_keys(database_at_0030, schema)
    assert all(before[name] for name in OWNER_TABLES)

    upgrade(engine, plugins=without_owners())
    assert primary_keys(database_at_0030, schema) == before

    upgrade(engine, plugins=load_plugins())
    assert not missing_heads(engine, load_plugins())
    assert primary_keys(database_at_0030, schema) == before
    assert models_differ(engine) == []


@pytest.mark.parametrize("table", sorted(OWNERS))
def test_each_owner_table_is_kept_or_dropped_on_its_own(database_at_0030: Database, table: str):
    engine = database_at_0030.engine
    add_a_row(engine, table)

    upgrade(engine, plugins=without_owners())
    assert owner_tables(engine) == {table}

    upgrade(engine, plugins=load_plugins())
    assert owner_tables(engine) == set(OWNER_TABLES)
    with engine.connect() as connection:
        assert connection.scalar(select(Table(table, MetaData(), autoload_with=connection).c.id))


def test_an_owners_base_drops_its_table_only_when_it_is_empty(database: Database):
    """``campaign db downgrade commission@base`` and going below the handover keep rows."""
    engine = database.engine
    for _plugin, label, _first in OWNERS.values():
        downgrade(engine, f"{label}@base")
    assert owner_tables(engine) == set()
    downgrade(engine, BEFORE_OWNER_HANDOVER)  # below the handover the core's revisions have them
    assert owner_tables(engine) == set(OWNER_TABLES)

    upgrade(engine, plugins=load_plugins())
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        fill_every_table(connection, schema)
    before = primary_keys(database, schema)
    for _plugin, label, _first in OWNERS.values():
        downgrade(engine, f"{label}@base")
    assert primary_keys(database, schema) == before
    downgrade(engine, BEFORE_OWNER_HANDOVER)
    for name in ADDED_SINCE_THE_HANDOVERS:
        schema.remove(schema.tables[name])
        del before[name]
    assert primary_keys(database, schema) == before
    upgrade(engine, plugins=load_plugins())
    assert primary_keys(database, schema) == before


def test_a_new_database_without_the_webhooks_plugin_has_none_of_its_tables(database: Database):
    engine = database.engine
    downgrade(engine, "base")
    upgrade(engine, plugins=without_webhooks())
    assert webhook_tables(engine) == set()
    assert not missing_heads(engine, without_webhooks())
    assert WEBHOOKS_BRANCH not in current_heads(engine)

    upgrade(engine, plugins=load_plugins())
    assert webhook_tables(engine) == set(WEBHOOK_TABLES)
    assert models_differ(engine) == []


def test_the_handover_drops_empty_webhook_tables_and_the_plugin_creates_them_again(
    database_at_0031: Database,
):
    engine = database_at_0031.engine
    upgrade(engine, plugins=without_webhooks())
    assert webhook_tables(engine) == set()

    upgrade(engine, plugins=load_plugins())
    assert webhook_tables(engine) == set(WEBHOOK_TABLES)
    assert models_differ(engine) == []
    states = {state.name: state.database for state in branch_states(engine, load_plugins())}
    assert states["plugins.webhooks"] == WEBHOOKS_BRANCH


def test_webhook_tables_holding_rows_stay_while_the_plugin_is_disabled_and_are_adopted(
    database_at_0031: Database,
):
    engine = database_at_0031.engine
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        fill_every_table(connection, schema)
    before = primary_keys(database_at_0031, schema)
    assert all(before[name] for name in WEBHOOK_TABLES)

    upgrade(engine, plugins=without_webhooks())
    assert primary_keys(database_at_0031, schema) == before

    upgrade(engine, plugins=load_plugins())
    assert not missing_heads(engine, load_plugins())
    assert primary_keys(database_at_0031, schema) == before
    assert models_differ(engine) == []


def test_the_webhooks_base_drops_its_tables_only_when_they_are_empty(database: Database):
    """``campaign db downgrade webhooks@base`` and going below the handover keep rows."""
    engine = database.engine
    downgrade(engine, "webhooks@base")
    assert webhook_tables(engine) == set()
    downgrade(engine, BEFORE_WEBHOOK_HANDOVER)  # below the handover the core's revisions have them
    assert webhook_tables(engine) == set(WEBHOOK_TABLES)

    upgrade(engine, plugins=load_plugins())
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        fill_every_table(connection, schema)
    before = primary_keys(database, schema)
    downgrade(engine, "webhooks@base")
    assert primary_keys(database, schema) == before
    upgrade(engine, plugins=load_plugins())
    assert primary_keys(database, schema) == before


def test_upgrading_from_0021_keeps_every_row_of_every_table(database_at_0021: Database):
    engine = database_at_0021.engine
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        filled = fill_every_table(connection, schema)
    before = primary_keys(database_at_0021, schema)
    assert set(filled) == set(before) == set(schema.tables) - {"alembic_version"}
    assert all(len(keys) == 1 for keys in before.values()), before

    upgrade(engine, plugins=load_plugins())

    assert not missing_heads(engine, load_plugins())
    assert primary_keys(database_at_0021, schema) == before


def test_tables_added_since_0021_take_a_row_and_leave_with_their_downgrade(database: Database):
    """The revisions after ``0022``: every table of today's schema takes a generated row, and
    downgrading to ``0022`` drops what they added."""
    engine = database.engine
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        filled = fill_every_table(connection, schema)
    assert "api_tokens" in filled
    downgrade(engine, "0022_contact_event_run")
    remaining = MetaData()
    remaining.reflect(engine)
    assert "api_tokens" not in remaining.tables
    upgrade(engine, plugins=load_plugins())
    assert not missing_heads(engine, load_plugins())


def fill_every_table(connection: Connection, schema: MetaData) -> dict[str, dict[str, Any]]:
    """One row per table, each after the tables its required references point to; then the
    optional references a cycle left empty are set where the database takes them."""
    rows: dict[str, dict[str, Any]] = {}
    pending = [table for table in schema.sorted_tables if table.name != "alembic_version"]
    while pending:
        ready = [table for table in pending if references_are_ready(table, rows)]
        assert ready, f"required references in a cycle: {[table.name for table in pending]}"
        for table in ready:
            rows[table.name] = insert_one_row(connection, table, rows)
            pending.remove(table)
    for table in schema.sorted_tables:
        if table.name in rows:
            set_late_references(connection, table, rows)
    return rows


def references_are_ready(table: Table, rows: dict[str, dict[str, Any]]) -> bool:
    return all(
        referred_row(column, rows) is not None
        for column in table.columns
        if column.foreign_keys and needs_value(column)
    )


def set_late_references(connection: Connection, table: Table, rows: dict[str, dict[str, Any]]):
    for column in table.columns:
        if column.foreign_keys and rows[table.name][column.name] is None:
            if referred_row(column, rows) is None:
                continue
            savepoint = connection.begin_nested()
            try:
                connection.execute(table.update().values({column.name: value(column, rows)}))
            except DBAPIError:
                savepoint.rollback()
                continue
            savepoint.commit()
            rows[table.name] = dict(connection.execute(select(table)).one()._mapping)


def insert_one_row(
    connection: Connection, table: Table, rows: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The first of the candidate rows the database takes: a CHECK constraint may want an
    optional reference set (one of several sources) or left empty."""
    errors = []
    for candidate in candidate_rows(table, rows):
        savepoint = connection.begin_nested()
        try:
            connection.execute(table.insert().values(candidate))
        except DBAPIError as exc:
            savepoint.rollback()
            errors.append(str(exc.orig).splitlines()[0])
            continue
        savepoint.commit()
        return dict(connection.execute(select(table)).one()._mapping)
    raise AssertionError(f"no generated row fits {table.name}: {errors}")


def candidate_rows(table: Table, rows: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The required columns with every optional reference, then with none, then with one
    optional column at a time (for an "exactly one of" constraint)."""
    required = {column.name: value(column, rows) for column in table.columns if needs_value(column)}
    optional = {
        column.name: value(column, rows)
        for column in table.columns
        if column.nullable and (not column.foreign_keys or referred_row(column, rows))
    }
    references = {name: optional[name] for name in optional if table.columns[name].foreign_keys}
    yield {**required, **references}
    yield required
    for name, optional_value in optional.items():
        yield {**required, name: optional_value}


def needs_value(column: Column) -> bool:
    if column.nullable or column.server_default is not None:
        return False
    autoincrement = (
        column.primary_key
        and not column.foreign_keys
        and isinstance(column.type, types.Integer)
        and len(column.table.primary_key.columns) == 1
    )
    return not autoincrement


def referred_row(column: Column, rows: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    (foreign_key,) = column.foreign_keys
    return rows.get(foreign_key.column.table.name)


def value(column: Column, rows: dict[str, dict[str, Any]]) -> Any:
    if column.foreign_keys:
        (foreign_key,) = column.foreign_keys
        row = referred_row(column, rows)
        assert row is not None, f"{column.table.name}.{column.name}: no row to refer to"
        return row[foreign_key.column.name]
    model = Base.metadata.tables.get(column.table.name)
    model_type = model.columns[column.name].type if model is not None else None
    if isinstance(model_type, types.Enum):
        return model_type.enums[0]
    return sample(column)


def sample(column: Column) -> Any:
    kind = column.type
    if isinstance(kind, types.Boolean):
        return False
    if isinstance(kind, types.Integer):
        return 1
    if isinstance(kind, types.Float):
        return 1.0
    if isinstance(kind, types.Numeric):
        return Decimal("1")
    if isinstance(kind, types.DateTime):
        return NOW
    if isinstance(kind, types.Date):
        return date(2026, 3, 2)
    if isinstance(kind, types.Time):
        return time(9, 30)
    if isinstance(kind, types.JSON):
        return {}
    if isinstance(kind, types.LargeBinary):
        return b"x"
    if isinstance(kind, types.Uuid):
        return uuid.uuid4()
    if isinstance(kind, types.String):
        return "x"
    raise AssertionError(f"{column.table.name}.{column.name}: no sample for {kind!r}")


def primary_keys(database: Database, schema: MetaData) -> dict[str, set[tuple]]:
    """The primary keys of every table's rows, by table."""
    with database.engine.connect() as connection:
        result = {}
        for table in schema.sorted_tables:
            if table.name == "alembic_version":
                continue
            key = list(table.primary_key.columns)
            assert key, f"{table.name} has no primary key"
            result[table.name] = {tuple(row) for row in connection.execute(select(*key))}
        return result


def test_the_feedback_tables_go_back_and_come_again_without_touching_older_rows(
    database: Database,
):
    """``0025_sms_feedback`` (receipts on the ledger rows, channel events): with a row in
    every table of today's schema, going back to 0024 drops only what it added, and coming
    again keeps every other row."""
    engine = database.engine
    schema = MetaData()
    schema.reflect(engine)
    with engine.begin() as connection:
        fill_every_table(connection, schema)
        assert connection.scalar(select(schema.tables["channel_events"].c.id)) is not None
    before = primary_keys(database, schema)

    downgrade(engine, "0024_api_tokens", plugins=load_plugins())
    old_schema = MetaData()
    old_schema.reflect(engine)
    assert "channel_events" not in old_schema.tables
    assert "delivery" not in old_schema.tables["run_items"].c
    dropped = set(before) - set(old_schema.tables)  # channel_events and the later revisions'
    older = {name: keys for name, keys in before.items() if name not in dropped}
    assert primary_keys(database, old_schema) == older

    upgrade(engine, plugins=load_plugins())
    assert not missing_heads(engine, load_plugins())
    assert primary_keys(database, schema) == {**older, **{name: set() for name in dropped}}
