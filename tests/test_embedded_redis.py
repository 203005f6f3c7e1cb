import dataclasses

import pytest
from redis import Redis

from core.config import ConfigError
from core.jobs import embedded_redis
from core.runtime import Runtime


@pytest.fixture
def short_dir(tmp_path_factory):
    # Unix socket paths are limited to about 100 characters.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cmp-") as path:
        yield __import__("pathlib").Path(path)


def test_the_first_process_starts_the_server_and_later_ones_reuse_it(short_dir):
    url, server = embedded_redis.start_or_reuse(short_dir)
    try:
        assert server is not None
        assert url == f"unix://{short_dir}/redis/redis.sock"
        Redis.from_url(url).set("greeting", "Grüß Gott")
        again_url, again_server = embedded_redis.start_or_reuse(short_dir)
        assert (again_url, again_server) == (url, None)
        assert Redis.from_url(again_url).get("greeting").decode() == "Grüß Gott"
    finally:
        server.stop()


def test_queued_data_survives_a_restart_of_the_embedded_server(short_dir):
    url, server = embedded_redis.start_or_reuse(short_dir)
    Redis.from_url(url).rpush("rq:queue:default", "job-1")
    server.stop()
    url, server = embedded_redis.start_or_reuse(short_dir)
    try:
        assert Redis.from_url(url).lrange("rq:queue:default", 0, -1) == [b"job-1"]
    finally:
        server.stop()


def test_runtime_uses_the_embedded_server_without_a_redis_url(settings, short_dir):
    runtime = Runtime.start(dataclasses.replace(settings, redis_url=None, data_dir=short_dir))
    try:
        assert runtime.redis_url.startswith("unix://")
        assert runtime.redis.ping()
    finally:
        runtime.close()


def test_a_data_dir_too_deep_for_a_socket_is_a_clear_error(tmp_path):
    deep = tmp_path / ("x" * 120)
    with pytest.raises(ConfigError, match=r"^CAMPAIGN_DATA_DIR: the embedded Redis socket path"):
        embedded_redis.start_or_reuse(deep)
