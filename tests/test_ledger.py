"""A run's ledger read through core.ledger, as plugins, workflows and tests read it."""

from __future__ import annotations

import pytest

from core import Outcome
from core.ledger import ledger_entries, run_outcomes, run_state, status_counts, total_units
from core.testing import Testbed


@pytest.fixture
def testbed(campaign_settings) -> Testbed:
    import engine_plugins

    testbed = Testbed.start(campaign_settings, [("engine_plugins", engine_plugins)])
    yield testbed
    testbed.close()


def test_the_ledger_gives_each_outcome_the_counts_and_the_units(testbed):
    ids = testbed.add_contacts(
        {"last_name": "Ahrens", "street": "Domplatz 1", "postcode": "50667", "city": "Köln"},
        {"last_name": "Brandt"},
        {"last_name": "Cramer"},
    )
    campaign = testbed.create_campaign("test_contacts", "test_letter", {}, {"pages": 3})
    run_id = testbed.run(campaign, confirmed_by="test").run_id

    with testbed.database.session() as session:
        keys = [f"contacts:{contact_id}" for contact_id in ids]
        assert run_outcomes(session, run_id) == {
            keys[0]: Outcome("done", "", 3, None),
            keys[1]: Outcome("skipped", "reach.incomplete_address", 0, None),
            keys[2]: Outcome("skipped", "reach.incomplete_address", 0, None),
        }
        assert status_counts(session, run_id) == {"done": 1, "skipped": 2}
        assert total_units(session, run_id) == 3
        assert [entry.key for entry in ledger_entries(session, run_id, "skipped")] == keys[1:]
        assert run_state(session, run_id) == "completed"
        with pytest.raises(LookupError):
            run_state(session, run_id + 1)
