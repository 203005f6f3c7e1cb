"""Creating and upgrading the database schema: the core's Alembic branch and the plugins'.

A plugin that owns tables names a versions directory through ``register_migrations``; its
branch starts with a revision that ``depends_on`` a core revision, and keeps its own row in
``alembic_version``. Only the loaded plugins' branches take part: a disabled plugin's branch
is neither applied nor touched, and its row stays for the day the plugin comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError, to_tuple
from sqlalchemy import column, table
from sqlalchemy.engine import Connection, Engine

from core.plugins import PluginHost, load_plugins

MIGRATIONS = Path(__file__).parent.parent / "migrations"
VERSION_TABLE = table("alembic_version", column("version_num"))


@dataclass(frozen=True, slots=True)
class Branch:
    """One line of migrations: the core's, or a plugin's (named like the plugin)."""

    name: str
    directory: Path


@dataclass(frozen=True, slots=True)
class BranchState:
    """A branch's revision in the database and in the code (``campaign db current``); no name
    for a revision in the database that no loaded branch knows."""

    name: str | None
    database: str | None
    code: str | None


def branches(plugins: PluginHost) -> list[Branch]:
    """The core's branch and the branch of every loaded plugin that registers one."""
    found = [Branch("core", (MIGRATIONS / "versions").resolve())]
    for impl in plugins.hook.register_migrations.get_hookimpls():

        def register(directory: str | Path, plugin: str = impl.plugin_name) -> None:
            path = Path(directory)
            if not path.is_dir():
                raise CommandError(
                    f"plugin {plugin!r} registers migrations in {path}: no directory"
                )
            found.append(Branch(plugin, path.resolve()))

        impl.function(**dict.fromkeys(impl.argnames, register))
    return found


def script_directory(plugins: PluginHost) -> ScriptDirectory:
    """The revisions of the core and of every loaded plugin's branch; a revision whose
    ``down_revision`` or ``depends_on`` names none of them is refused with its file and its
    plugin (Alembic itself would stop with a bare ``KeyError``)."""
    found = branches(plugins)
    script = ScriptDirectory(str(MIGRATIONS), version_locations=[b.directory for b in found])
    try:
        script.revision_map.heads  # noqa: B018 - reads every revision file and links them
    except KeyError as exc:
        raise CommandError(_unknown_reference(script, found, exc)) from None
    return script


def _unknown_reference(script: ScriptDirectory, found: list[Branch], exc: KeyError) -> str:
    revisions = list(script._load_revisions())
    known = {rev.revision for rev in revisions}
    known.update(label for rev in revisions for label in rev.branch_labels)
    for rev in revisions:
        named = to_tuple(rev.down_revision, default=()) + to_tuple(rev.dependencies, default=())
        for missing in (name for name in named if name not in known):
            directory = Path(rev.path).parent.resolve()
            owner = next((b.name for b in found if b.directory == directory), "core")
            return (
                f"plugin {owner!r}: revision {rev.revision!r} ({rev.path}) names {missing!r} in"
                " down_revision or depends_on, which is no revision of the core or of a loaded"
                " plugin"
            )
    return f"a migration names the unknown revision {exc}"


class UnloadedBranchError(RuntimeError):
    """Going down with revisions of plugins that are not loaded, whose tables may stand on
    what would go."""

    def __init__(self, revisions: list[str]) -> None:
        super().__init__(
            f"the database holds revisions of plugins that are not loaded ({', '.join(revisions)});"
            " enable them (CAMPAIGN_DISABLE_PLUGINS) or install them to go down"
        )


class ForeignKeyViolationError(RuntimeError):
    """A SQLite migration left rows that refer to missing rows; nothing was committed."""


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the whole migration; on SQLite with foreign keys off.

    A batch migration on SQLite copies a table and drops the original, which with foreign
    keys on deletes every row that refers to it (ON DELETE CASCADE). The pragma only takes
    effect outside a transaction, so the references are checked before the commit instead.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
                broken = sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise ForeignKeyViolationError(
                        f"the migration would leave {len(broken)} broken references, "
                        f"e.g. table {broken[0][0]} row {broken[0][1]} -> {broken[0][2]}"
                    )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _migrate(engine: Engine, plugins: PluginHost | None, revision: str, upwards: bool) -> None:
    """Alembic's ``upgrade``/``downgrade``, seeing only the revisions a loaded branch knows
    (a disabled plugin's does not stop it with "Can't locate revision"), and keeping a row
    per loaded branch (Alembic replaces a revision by the one that ``depends_on`` it)."""
    script = script_directory(plugins or load_plugins())
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def steps(heads: tuple[str, ...], _context: MigrationContext) -> list:
        known = [head for head in heads if _knows(script, head)]
        if upwards:
            return script._upgrade_revs(revision, _outermost(script, known))
        if len(known) < len(heads):
            raise UnloadedBranchError(sorted(set(heads) - set(known)))
        return script._downgrade_revs(revision, _outermost(script, known))

    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        with EnvironmentContext(config, script, fn=steps, destination_rev=revision) as context:
            script.run_env()
            migration = context.get_context()
            rows = set(migration.get_current_heads())
            positions = {rev for newest in _positions(script, rows).values() for rev in newest}
            for missing in sorted(positions - rows):
                connection.execute(VERSION_TABLE.insert().values(version_num=missing))


def upgrade(engine: Engine, revision: str = "heads", plugins: PluginHost | None = None) -> None:
    """Bring the core and every loaded plugin's branch to ``revision`` (all heads by default);
    safe to run on an up-to-date database."""
    _migrate(engine, plugins, revision, upwards=True)


def downgrade(engine: Engine, revision: str, plugins: PluginHost | None = None) -> None:
    """Go back to ``revision``, first undoing the plugin revisions that depend on what goes."""
    _migrate(engine, plugins, revision, upwards=False)


def _knows(script: ScriptDirectory, revision: str) -> bool:
    try:
        script.get_revision(revision)
    except CommandError:
        return False
    return True


def _lineage(script: ScriptDirectory, revisions: Iterable[str]) -> set[str]:
    """The revisions and everything they stand on: down revisions and dependencies."""
    seen: set[str] = set()
    todo = list(revisions)
    while todo:
        revision = todo.pop()
        if revision not in seen:
            seen.add(revision)
            todo.extend(script.get_revision(revision)._all_down_revisions)
    return seen


def _outermost(script: ScriptDirectory, revisions: list[str]) -> tuple[str, ...]:
    """The revisions that no other one of them stands on, as Alembic expects its heads."""
    downs = (down for rev in revisions for down in script.get_revision(rev)._all_down_revisions)
    below = _lineage(script, downs)
    return tuple(revision for revision in revisions if revision not in below)


def _positions(script: ScriptDirectory, rows: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The newest applied revisions of each branch, by the branch's directory."""
    by_directory: dict[str, set[str]] = {}
    for revision in _lineage(script, (row for row in rows if _knows(script, row))):
        by_directory.setdefault(_directory(script, revision), set()).add(revision)
    positions = {}
    for directory, revisions in by_directory.items():
        below = [script.get_revision(rev)._versioned_down_revisions for rev in revisions]
        positions[directory] = tuple(sorted(revisions.difference(*below)))
    return positions


def _directory(script: ScriptDirectory, revision: str) -> str:
    return str(Path(script.get_revision(revision).path).parent.resolve())


def current_heads(engine: Engine) -> tuple[str, ...]:
    """The rows of ``alembic_version``: one revision per branch, in no particular order."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_heads()


def branch_states(engine: Engine, plugins: PluginHost) -> list[BranchState]:
    """Each loaded branch with its revision in the database and in the code, then each
    revision in the database that no loaded branch knows (a disabled or removed plugin's)."""
    script = script_directory(plugins)
    rows = current_heads(engine)
    positions = _positions(script, rows)
    code = {_directory(script, head): head for head in script.get_heads()}
    states = [
        BranchState(
            branch.name,
            ", ".join(positions.get(str(branch.directory), ())) or None,
            code.get(str(branch.directory)),
        )
        for branch in branches(plugins)
    ]
    return states + [
        BranchState(None, row, None) for row in sorted(rows) if not _knows(script, row)
    ]


def missing_heads(engine: Engine, plugins: PluginHost) -> list[str]:
    """The heads the code of the loaded branches needs and the database lacks."""
    script = script_directory(plugins)
    applied = _lineage(script, (row for row in current_heads(engine) if _knows(script, row)))
    return sorted(set(script.get_heads()) - applied)
