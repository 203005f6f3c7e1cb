import dataclasses

import pytest

from core.config import ConfigError
from core.db.database import Database
from core.db.schema import downgrade
from core.runtime import Runtime, SchemaOutdatedError


def test_start_connects_to_database_and_redis(settings, redis_url):
    runtime = Runtime.start(settings)
    try:
        assert runtime.redis.ping()
        assert runtime.redis_url == redis_url
        assert runtime.plugins.errors == []
    finally:
        runtime.close()


def test_an_outdated_schema_is_refused_with_the_command_to_fix_it(settings, redis_url):
    downgrade(Database(settings.database_url).engine, "base")
    with pytest.raises(SchemaOutdatedError, match="run 'campaign db upgrade'"):
        Runtime.start(settings)


def test_an_unreachable_redis_names_the_variable(settings):
    broken = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(ConfigError, match=r"^CAMPAIGN_REDIS_URL: cannot reach Redis"):
        Runtime.start(broken)


def test_an_unreachable_database_names_the_variable(settings):
    broken = dataclasses.replace(
        settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/campaign"
    )
    with pytest.raises(ConfigError, match=r"^CAMPAIGN_DATABASE_URL: cannot connect"):
        Runtime.start(broken)
