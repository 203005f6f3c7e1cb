import pytest
from sqlalchemy import inspect, select

from core.db.database import Database
from core.db.schema import current_heads, downgrade, missing_heads, upgrade
from core.plugins import load_plugins
from plugins.processes.models import ProviderService, ServiceProcess

from process_helpers import build_world


def test_migrations_bring_a_fresh_database_to_head(database: Database):
    assert not missing_heads(database.engine, load_plugins())
    tables = set(inspect(database.engine).get_table_names())
    assert {"contacts", "contracts", "products", "sales_partners", "users"} <= tables


def test_migrations_go_down_and_up_again(database: Database):
    downgrade(database.engine, "base")
    assert current_heads(database.engine) == ()
    assert inspect(database.engine).get_table_names() == ["alembic_version"]
    upgrade(database.engine)
    assert not missing_heads(database.engine, load_plugins())


def test_upgrading_an_up_to_date_database_changes_nothing(database: Database):
    before = sorted(current_heads(database.engine))
    upgrade(database.engine)
    assert sorted(current_heads(database.engine)) == before
    assert not missing_heads(database.engine, load_plugins())


def test_models_and_migrations_agree(database: Database):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from core.models import Base

    load_plugins()  # imports the plugins' models, whose tables the database holds too
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_copying_a_table_keeps_the_rows_that_refer_to_it(database: Database):
    """Migration 0008 copies ``campaigns`` and ``runs`` on SQLite; their runs and ledger rows
    must survive the way down and up again."""
    from sqlalchemy import text

    downgrade(database.engine, "0003")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO campaigns (id, name, description, datasource, datasource_settings,"
                " group_keys, filters, action, action_settings, created_at, updated_at)"
                " VALUES (1, 'Infobrief', '', 'query', '{}', '[]', '[]', 'print_reports', '{}',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO runs (id, campaign_id, number, state, exclusive, dry_run, config,"
                " created_at, targeted, held_out, done, failed, skipped, unclear, chunks)"
                " VALUES (1, 1, 1, 'completed', true, false, '{}', CURRENT_TIMESTAMP,"
                " 1, 0, 1, 0, 0, 0, 1)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO run_items (run_id, key, action, kind, entity, status, units,"
                " attempts) VALUES (1, 'contacts:1', 'print_reports', 'recipient', 'contacts',"
                " 'done', 2, 0)"
            )
        )

    def counts() -> tuple[int, int, int]:
        with database.engine.connect() as connection:
            return tuple(
                connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("campaigns", "runs", "run_items")
            )

    upgrade(database.engine)
    assert counts() == (1, 1, 1)
    with database.engine.connect() as connection:
        status = connection.execute(text("SELECT status, commitment_level FROM campaigns"))
        assert status.one() == ("editing", 1)
    downgrade(database.engine, "0003")
    assert counts() == (1, 1, 1)
    upgrade(database.engine)


def test_stored_file_name_patterns_move_to_the_restricted_placeholders(database: Database):
    """0015: ``str.format`` patterns become ``{name}``-only ones that name the same file."""
    old = {
        "{campaign}-{delivery}-{date:%Y%m%d}.csv": "{campaign}-{delivery}-{date}.csv",
        "a-{date:%d.%m.%Y}_{time:%H-%M}.txt": "a-{day}.{month}.{year}_{hour}-{minute}.txt",
        "{run!r}-{date:%j}-{time:%H%M%S}.csv": "{run}-{date}-{time}.csv",
        "{campaign.zzz}.csv": "{campaign.zzz}.csv",
    }
    with database.session() as session:
        world = build_world(session)
        services = [world.print_service_id, *extra_services(session, world, len(old) - 1)]
        for service_id, pattern in zip(services, old, strict=True):
            session.add(ServiceProcess(service_id=service_id, file_name_pattern=pattern))
    downgrade(database.engine, "0014")  # the rows were written by today's models
    upgrade(database.engine)
    assert stored_patterns(database) == list(old.values())
    downgrade(database.engine, "0014")
    assert stored_patterns(database)[:2] == [
        "{campaign}-{delivery}-{date}.csv",
        "a-{date:%d}.{date:%m}.{date:%Y}_{time:%H}-{time:%M}.txt",
    ]
    upgrade(database.engine)


def extra_services(session, world, count: int) -> list[int]:
    template = session.get(ProviderService, world.print_service_id)
    services = [
        ProviderService(provider_id=template.provider_id, name=f"Dienst {n}") for n in range(count)
    ]
    session.add_all(services)
    session.flush()
    return [service.id for service in services]


def stored_patterns(database: Database) -> list[str]:
    with database.session() as session:
        return list(
            session.scalars(
                select(ServiceProcess.file_name_pattern).order_by(ServiceProcess.service_id)
            )
        )


def test_a_plugin_naming_a_missing_migrations_directory_is_named_in_the_error(
    database: Database, tmp_path
):
    from types import SimpleNamespace

    from alembic.util import CommandError

    from core import hookimpl
    from core.plugins import PluginHost

    @hookimpl
    def register_migrations(register):
        register(tmp_path / "missing")

    host = PluginHost()
    host.add(SimpleNamespace(register_migrations=register_migrations), "notes", "test")
    with pytest.raises(CommandError, match=r"plugin 'notes' registers migrations in .*missing"):
        upgrade(database.engine, plugins=host)
    assert not missing_heads(database.engine, load_plugins())


def test_a_plugin_revision_naming_an_unknown_revision_is_named_in_the_error(
    database: Database, tmp_path
):
    from types import SimpleNamespace

    from alembic.util import CommandError

    from core import hookimpl
    from core.plugins import PluginHost

    versions = tmp_path / "migrations"
    versions.mkdir()
    (versions / "notes_0001.py").write_text(
        'revision = "notes_0001"\n'
        "down_revision = None\n"
        'branch_labels = ("notes",)\n'
        'depends_on = "0021_run_confirmaton"  # misspelt\n'
        "def upgrade(): pass\n"
        "def downgrade(): pass\n",
        encoding="utf-8",
    )

    @hookimpl
    def register_migrations(register):
        register(versions)

    host = PluginHost()
    host.add(SimpleNamespace(register_migrations=register_migrations), "notes", "test")
    with pytest.raises(
        CommandError,
        match=r"plugin 'notes': revision 'notes_0001' \(.*notes_0001\.py\) names "
        r"'0021_run_confirmaton' in down_revision or depends_on",
    ):
        upgrade(database.engine, plugins=host)
    with pytest.raises(CommandError, match="'0021_run_confirmaton'"):
        missing_heads(database.engine, host)
    assert not missing_heads(database.engine, load_plugins())
