import pytest

from core.config import ConfigError, Settings


def env(tmp_path, **values):
    return {"CAMPAIGN_DATA_DIR": str(tmp_path)} | {f"CAMPAIGN_{k}": v for k, v in values.items()}


def test_defaults_need_nothing_installed(tmp_path):
    settings = Settings.from_env(env(tmp_path))
    assert settings.database_url == f"sqlite:///{tmp_path}/campaign.db"
    assert settings.redis_url is None
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 5000, 1)


def test_workflow_timing_settings(tmp_path):
    from datetime import timedelta

    defaults = Settings.from_env(env(tmp_path))
    assert (defaults.timezone, defaults.workflow_min_interval) == (
        "Europe/Berlin",
        timedelta(minutes=15),
    )
    chosen = Settings.from_env(env(tmp_path, TIMEZONE="UTC", WORKFLOW_MIN_INTERVAL="1h30m"))
    assert (chosen.timezone, chosen.workflow_min_interval) == ("UTC", timedelta(minutes=90))


def test_campaign_process_settings(tmp_path):
    from datetime import timedelta

    defaults = Settings.from_env(env(tmp_path))
    assert (defaults.approval_reminder, defaults.concurrent_jobs) == (timedelta(days=1), 2)
    chosen = Settings.from_env(env(tmp_path, APPROVAL_REMINDER="6h", CONCURRENT_JOBS="5"))
    assert (chosen.approval_reminder, chosen.concurrent_jobs) == (timedelta(hours=6), 5)


def test_the_largest_upload_is_a_size(tmp_path):
    assert Settings.from_env(env(tmp_path)).max_upload == 50 * 1024 * 1024
    for raw, size in (("200MB", 200 * 1024**2), ("512 k", 512 * 1024), ("1g", 1024**3)):
        assert Settings.from_env(env(tmp_path, MAX_UPLOAD=raw)).max_upload == size
    assert Settings.from_env(env(tmp_path, MAX_UPLOAD="1000")).max_upload == 1000


def test_the_web_servers_threads_and_request_timeout(tmp_path):
    from datetime import timedelta

    defaults = Settings.from_env(env(tmp_path))
    assert (defaults.threads, defaults.request_timeout) == (8, timedelta(seconds=60))
    assert defaults.trusted_proxies == 0
    chosen = Settings.from_env(
        env(tmp_path, THREADS="16", REQUEST_TIMEOUT="2m", TRUSTED_PROXIES="1")
    )
    assert (chosen.threads, chosen.request_timeout) == (16, timedelta(minutes=2))
    assert chosen.trusted_proxies == 1


def test_generated_secret_key_is_kept_for_the_next_start(tmp_path):
    first = Settings.from_env(env(tmp_path)).secret_key
    assert len(first) >= 32
    assert Settings.from_env(env(tmp_path)).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_plain_postgresql_urls_use_psycopg_3(tmp_path):
    settings = Settings.from_env(env(tmp_path, DATABASE_URL="postgresql://u:p@db:5432/campaign"))
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/campaign"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "not a url", "CAMPAIGN_DATABASE_URL: 'not a url' is not a database URL"),
        ("DATABASE_URL", "mysql://x@y/z", "CAMPAIGN_DATABASE_URL: unsupported database 'mysql'"),
        ("DATABASE_URL", "postgresql://x@y", "CAMPAIGN_DATABASE_URL: the PostgreSQL URL names no"),
        ("REDIS_URL", "localhost:6379", "CAMPAIGN_REDIS_URL: 'localhost:6379' is not a redis://"),
        ("PORT", "eighty", "CAMPAIGN_PORT: 'eighty' is not a whole number"),
        ("PORT", "70000", "CAMPAIGN_PORT: 70000 is outside 1..65535"),
        ("LOG_LEVEL", "loud", "CAMPAIGN_LOG_LEVEL: 'loud' is not one of"),
        ("TIMEZONE", "Berlin", "CAMPAIGN_TIMEZONE: 'Berlin' is not a known time zone"),
        ("WORKFLOW_MIN_INTERVAL", "15", "CAMPAIGN_WORKFLOW_MIN_INTERVAL: '15' is not a duration"),
        ("WORKFLOW_MIN_INTERVAL", "0m", "CAMPAIGN_WORKFLOW_MIN_INTERVAL: '0m' must be longer"),
        ("APPROVAL_REMINDER", "a day", "CAMPAIGN_APPROVAL_REMINDER: 'a day' is not a duration"),
        ("THREADS", "0", "CAMPAIGN_THREADS: 0 is outside 1..256"),
        ("TRUSTED_PROXIES", "yes", "CAMPAIGN_TRUSTED_PROXIES: 'yes' is not a whole number"),
        ("REQUEST_TIMEOUT", "soon", "CAMPAIGN_REQUEST_TIMEOUT: 'soon' is not a duration"),
        ("CONCURRENT_JOBS", "0", "CAMPAIGN_CONCURRENT_JOBS: 0 is outside 1..100"),
        ("CONCURRENT_JOBS", "many", "CAMPAIGN_CONCURRENT_JOBS: 'many' is not a whole number"),
        ("MAX_UPLOAD", "50 megs", "CAMPAIGN_MAX_UPLOAD: '50 megs' is not a size"),
        ("MAX_UPLOAD", "0MB", "CAMPAIGN_MAX_UPLOAD: '0MB' must be larger than zero"),
    ],
)
def test_bad_values_fail_fast_naming_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env(tmp_path, **{name: value}))
    assert str(error.value).startswith(message)
    assert error.value.variable == f"CAMPAIGN_{name}"


def test_disabled_plugins_are_a_comma_separated_list(tmp_path):
    settings = Settings.from_env(env(tmp_path, DISABLE_PLUGINS=" hello, plugins.x ,,"))
    assert settings.disabled_plugins == ("hello", "plugins.x")


def test_without_a_mail_server_e_mails_go_to_the_outbox(tmp_path):
    settings = Settings.from_env(env(tmp_path))
    assert settings.mail_server is None
    assert settings.mail_from == "Campaign <campaign@localhost.localdomain>"


def test_the_mail_server_url_says_how_to_connect(tmp_path, tmp_path_factory):
    settings = Settings.from_env(
        env(
            tmp_path,
            SMTP_URL="smtp://news%40example.de:p%3Ass@mail.example.de?timeout=5",
            MAIL_FROM="Kundenservice <service@example.de>",
        )
    )
    server = settings.mail_server
    assert (server.host, server.port, server.security) == ("mail.example.de", 587, "starttls")
    assert (server.username, server.password, server.timeout) == ("news@example.de", "p:ss", 5.0)
    assert "p:ss" not in repr(settings)
    assert settings.mail_from == "Kundenservice <service@example.de>"
    implicit = Settings.from_env(
        env(tmp_path, SMTP_URL="smtps://mail.example.de", MAIL_FROM="a@example.de")
    )
    assert (implicit.mail_server.port, implicit.mail_server.security) == (465, "tls")
    relay = Settings.from_env(
        env(tmp_path, SMTP_URL="smtp://127.0.0.1:2525?starttls=0", MAIL_FROM="a@example.de")
    )
    assert (relay.mail_server.port, relay.mail_server.security) == (2525, "plain")


def test_the_bounce_address_and_the_soft_bounce_limit(tmp_path):
    default = Settings.from_env(env(tmp_path))
    assert (default.bounce_address, default.soft_bounce_limit) == (None, 3)
    settings = Settings.from_env(
        env(tmp_path, BOUNCE_ADDRESS="bounces@example.de", SOFT_BOUNCE_LIMIT="5")
    )
    assert (settings.bounce_address, settings.soft_bounce_limit) == ("bounces@example.de", 5)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"SMTP_URL": "http://mail.example.de"}, "CAMPAIGN_SMTP_URL: 'http://mail.example.de' is"),
        ({"SMTP_URL": "smtp://:25"}, "CAMPAIGN_SMTP_URL: 'smtp://:25' names no host"),
        ({"SMTP_URL": "smtp://h:99999"}, "CAMPAIGN_SMTP_URL: 'smtp://h:99999' is not a URL"),
        ({"SMTP_URL": "smtp://u:secret@h?tls=1"}, "CAMPAIGN_SMTP_URL: unknown option(s) tls"),
        ({"SMTP_URL": "smtp://h?starttls=maybe"}, "CAMPAIGN_SMTP_URL: starttls='maybe' is not"),
        ({"SMTP_URL": "smtps://h?starttls=1"}, "CAMPAIGN_SMTP_URL: smtps:// is TLS from"),
        ({"SMTP_URL": "smtp://h?timeout=-1"}, "CAMPAIGN_SMTP_URL: timeout='-1' is not"),
        ({"SMTP_URL": "smtp://h"}, "CAMPAIGN_MAIL_FROM: the sender address is needed"),
        ({"MAIL_FROM": "Kampagne"}, "CAMPAIGN_MAIL_FROM: 'Kampagne' is not an e-mail address"),
        ({"SMTP_CA_FILE": "/nonexistent/ca.pem"}, "CAMPAIGN_SMTP_CA_FILE: '/nonexistent/ca.pem'"),
        ({"BOUNCE_ADDRESS": "bounces"}, "CAMPAIGN_BOUNCE_ADDRESS: 'bounces' is not an e-mail"),
        ({"SOFT_BOUNCE_LIMIT": "0"}, "CAMPAIGN_SOFT_BOUNCE_LIMIT: 0 is outside 1..100"),
    ],
)
def test_bad_mail_settings_fail_fast_naming_the_variable(tmp_path, values, message):
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env(tmp_path, **values))
    assert str(error.value).startswith(message)
    assert "secret" not in str(error.value)
