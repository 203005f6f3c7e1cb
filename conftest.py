"""The test kit's settings for this repository's suites (tests/ and the example plugin's):
PostgreSQL always runs too, on a local server unless CAMPAIGN_TEST_POSTGRES_URL names one."""

import os

import pytest

pytest_plugins = ("core.testing",)


@pytest.fixture(scope="session")
def campaign_postgres_admin_url() -> str:
    return os.environ.get(
        "CAMPAIGN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
