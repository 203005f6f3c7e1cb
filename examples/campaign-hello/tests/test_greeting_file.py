import pytest
from campaign_hello import GreetingFile

from core import Outcome, SettingsError

EVERYONE = {"definition": {"root": "contacts"}}  # settings of the "query" data source


def test_a_run_greets_each_named_recipient_once_at_its_price(campaign_testbed, tmp_path):
    ada, nameless = campaign_testbed.add_contacts({"first_name": "Ada"}, {"email": "x@y.de"})
    settings = {"path": f"{tmp_path}/hi.txt", "greeting": "Moin", "price": "1.20"}
    campaign = campaign_testbed.create_campaign("query", "greeting_file", EVERYONE, settings)

    result = campaign_testbed.run(campaign, confirmed_by="test")

    assert result.outcomes == {
        f"contacts:{ada}": Outcome.done("Moin Ada", units=120),
        f"contacts:{nameless}": Outcome.failed("no name"),
    }
    assert (tmp_path / "hi.txt").read_text(encoding="utf-8") == "Moin Ada\n"


def test_every_bad_setting_is_named():
    with pytest.raises(SettingsError) as error:
        GreetingFile({"path": "out.csv", "greeting": "Hi", "price": "-1"})
    assert [field for field, _ in error.value.problems] == ["path", "greeting", "price"]
    assert error.value.problems[0] == ("path", "must end in .txt")
