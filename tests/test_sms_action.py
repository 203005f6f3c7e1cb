"""The "sms" action: settings, composing a message, and whole campaigns through the engine with
a real worker and the "http" gateway against a loopback provider (or the outbox)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from pydantic import BaseModel
from sqlalchemy import select, update
from test_gateways_http_sms import FakeProvider

import plugins.actions.sms as sms_action
import plugins.gateways.http_sms as http_sms
import plugins.gateways.outbox_sms as outbox_sms
from core import DataSource, Recipient, SettingsError, SmsGateway, hookimpl
from core.engine.dispatch import process_chunk
from core.engine.runs import start_run
from core.messaging.sending import MaybeSentError, NotSentError
from core.models import Contact, ItemStatus, Run, RunState
from core.plugins import PluginHost, UnknownPluginError
from core.reach import SkipReason
from core.validation import problem_text
from plugins.actions import TRANSLATIONS
from plugins.actions.sms import Sms
from webapp.i18n import render_stored

from panel_helpers import shown_details

TEMPLATE = "Hallo {{ first_name }}, Ihr Gutschein wartet in {{ city }}!"


class Recorder(SmsGateway):
    """A gateway that keeps what it was given and raises what it is told to."""

    name = "recorder"
    title = "Recorder"

    class Params(BaseModel):
        sender: str = ""
        fail_with: str = ""
        refuse: str = ""

    sent: list[tuple[str, str, str, str]] = []

    def send(self, number, text, reference):
        if self.params.fail_with == "refused" or number == self.params.refuse:
            raise NotSentError("the provider answered 400: bad number")
        if self.params.fail_with == "unclear":
            raise MaybeSentError("no answer within 1 s")
        self.sent.append((number, text, reference, self.params.sender))
        return f"id-{len(self.sent)}"


class Silent(Recorder):
    """A gateway whose provider has no sender setting."""

    name = "silent"
    title = "Silent"
    Params = BaseModel


class SmsTestPlugins:
    """The recorder gateways and a contact source whose records carry every field."""

    class Contacts(DataSource):
        name = "sms_test_contacts"
        title = "Every contact with all fields"

        def entity(self):
            return "contacts"

        def select(self, context):
            return select(Contact.id.label("id"), Contact.city.label("group_key"))

    @staticmethod
    @hookimpl
    def register_datasources(register):
        register(SmsTestPlugins.Contacts)

    @staticmethod
    @hookimpl
    def register_sms_gateways(register):
        register(Recorder)
        register(Silent)


@pytest.fixture
def context():
    Recorder.sent.clear()
    host = PluginHost()
    for name, plugin in [("sms_gateways", http_sms), ("test", SmsTestPlugins)]:
        host.add(plugin, name, "test")
    assert host.errors == []
    return SimpleNamespace(runtime=SimpleNamespace(plugins=host), run_id=7)


def contact(number="0171 2345678", **data):
    return Recipient(
        "contacts:3",
        "contacts",
        3,
        {"mobile": number, "first_name": "Erika", "city": "Köln", **data},
    )


def action(**settings):
    return Sms({"gateway": "recorder", "template": TEMPLATE, **settings})


def test_a_message_goes_to_the_normalised_number_with_the_ledger_reference(context, panel_app):
    outcome = action(sender="Campaign").process(contact("+49 (0)171-2345678"), context)
    assert Recorder.sent == [
        (
            "+491712345678",
            "Hallo Erika, Ihr Gutschein wartet in Köln!",
            "run7-contacts:3",
            "Campaign",
        )
    ]
    assert (outcome.status, outcome.units, outcome.reference) == ("done", 1, "id-1")
    assert outcome.detail == "GSM-7, 1 segment; message id: id-1"
    assert shown_details(panel_app, "de", [outcome.detail]) == [
        "GSM-7, 1 Teil; Nachrichten-ID: id-1"
    ]
    assert shown_details(panel_app, "en", [outcome.detail]) == [outcome.detail]


def test_the_segment_count_is_the_cost(context):
    outcome = action().process(contact(first_name="Łucja Małgorzata Wiśniewska-Kowalczyk"), context)
    assert (outcome.status, outcome.units) == ("done", 2)
    assert outcome.detail.startswith("UCS-2, 2 segments")


def test_a_contract_reaches_its_contact(context):
    contract = Recipient(
        "contracts:5",
        "contracts",
        5,
        {"number": "V-5", "contact.mobile": "0151 12345678", "contact.first_name": "Max"},
    )
    sms = action(template="{{ contact.first_name }}, Vertrag {{ number }} endet bald.")
    assert sms.process(contract, context).status == "done"
    assert Recorder.sent[0][:2] == ("+4915112345678", "Max, Vertrag V-5 endet bald.")


@pytest.mark.parametrize(
    ("recipient", "settings", "reason"),
    [
        (
            Recipient("contacts:3", "contacts", 3, {"email": "a@b.de"}),
            {},
            "the record has no mobile number field: mobile, contact.mobile",
        ),
        (
            contact(),
            {"template": "Hallo {{ frist_name }}"},
            "line 1: unknown placeholder 'frist_name'",
        ),
        (contact(last_name=None), {"template": "{{ last_name }} "}, "the text is empty"),
        (
            contact(),
            {"template": "{{ 'Langer Text. ' * 13 }}", "max_segments": 1},
            "the text needs 2 segments (GSM-7, 169 characters), more than the 1 allowed",
        ),
    ],
)
def test_a_recipient_that_cannot_get_the_message_fails_with_the_reason(
    context, recipient, settings, reason
):
    outcome = action(**settings).process(recipient, context)
    assert (outcome.status, outcome.units) == ("failed", 0)
    assert reason in outcome.detail
    assert Recorder.sent == []


@pytest.mark.parametrize(
    ("recipient", "settings"),
    [
        (contact("0221 123456"), {}),  # a landline
        (contact("12345"), {}),
        (contact(None), {}),
        (contact("0171 2345678", city="Paris"), {"region": "FR"}),
    ],
)
def test_a_recipient_without_a_mobile_number_is_skipped_not_failed(context, recipient, settings):
    outcome = action(**settings).process(recipient, context)
    assert (outcome.status, outcome.detail, outcome.units) == ("skipped", "reach.no_mobile", 0)
    assert Recorder.sent == []


def test_delivery_errors_fail_and_doubt_is_reported_as_unclear(context):
    refused = action(gateway_settings={"fail_with": "refused"}).process(contact(), context)
    assert (refused.status, refused.detail) == ("failed", "the provider answered 400: bad number")
    unclear = action(gateway_settings={"fail_with": "unclear"}).process(contact(), context)
    assert (unclear.status, unclear.units) == (ItemStatus.UNCLEAR, 0)
    assert unclear.detail == "no answer within 1 s"


def test_messages_sent_together_each_get_their_own_outcome_in_order(context):
    sms = action(gateway_settings={"refuse": "+491712222222"})
    numbers = ["0171 1111111", "0221 123456", "0171 2222222", "0171 3333333"]
    outcomes = sms.process_many([contact(number) for number in numbers], context)
    assert [(outcome.status, outcome.reference) for outcome in outcomes] == [
        ("done", "id-1"),
        ("skipped", None),  # a landline: nothing to send
        ("failed", None),
        ("done", "id-2"),
    ]
    assert [number for number, *_ in Recorder.sent] == ["+491711111111", "+491713333333"]


def test_a_gateway_that_cannot_be_built_fails_each_message_of_a_group(context):
    sms = action(gateway="silent", sender="Campaign")
    outcomes = sms.process_many([contact(), contact("0171 7654321")], context)
    assert {(outcome.status, outcome.detail) for outcome in outcomes} == {
        (
            "failed",
            "SettingsError: invalid settings for action 'sms': sender: the gateway 'silent' "
            "takes no sender",
        )
    }


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"gateway": "nope"}, UnknownPluginError, "unknown sms_gateway 'nope'; available: http,"),
        (
            {"gateway": "http", "gateway_settings": {"method": "GET"}},
            SettingsError,
            "invalid settings for sms_gateway 'http': url: Field required; method: Input "
            "should be 'POST' or 'PUT'",
        ),
        (
            {"gateway": "silent", "sender": "Campaign"},
            SettingsError,
            "invalid settings for action 'sms': sender: the gateway 'silent' takes no sender",
        ),
    ],
)
def test_gateway_settings_are_checked_when_sending(context, settings, error, message):
    with pytest.raises(error) as caught:
        action(**settings).process(contact(), context)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"template": "Hallo {{ first_name }"}, "template: line 1: syntax error: unexpected '}'"),
        ({"template": "x" * 2001}, "template: String should have at most 2000 characters"),
        ({"sender": "Far too long sender"}, "sender: a sender is up to 11"),
        ({"region": "XX"}, "region: unknown region 'XX'"),
        ({"max_segments": 11}, "max_segments: Input should be less than or equal to 10"),
        ({"gateway": ""}, "gateway: String should have at least 1 character"),
    ],
)
def test_settings_are_checked_when_the_campaign_is_saved(settings, problem):
    with pytest.raises(SettingsError) as caught:
        action(**settings)
    assert problem in str(caught.value)


def test_a_refused_setting_is_said_in_the_readers_language():
    """The action's own check through the actions' catalog, the core's sender rule through
    the panel's."""
    catalogs = {Sms.__module__: [TRANSLATIONS]}
    with pytest.raises(SettingsError) as region:
        action(region="XX")
    with pytest.raises(SettingsError) as sender:
        action(sender="Far too long sender")
    texts = [
        problem_text(field, message, Sms.__module__)
        for refused in (region, sender)
        for field, message in refused.value.problems
    ]
    assert [render_stored(text, "de", catalogs) for text in texts] == [
        "region: unbekannte Region „XX“; bitte einen Ländercode wie DE angeben",
        "sender: ein Absender hat bis zu 11 Buchstaben, Ziffern, Leerzeichen, „.“ oder „-“ mit "
        "mindestens einem Buchstaben, oder er ist eine Nummer mit bis zu 15 Ziffern",
    ]
    assert render_stored(texts[0], "en", catalogs) == (
        "region: unknown region 'XX'; use a country code such as DE"
    )


def test_preview_renders_without_sending(context, panel_app):
    sms = action()
    preview = sms.preview(contact(), context)
    assert preview == (
        "SMS to: +491712345678; gateway: recorder; GSM-7, 1 segment; "
        "text: Hallo Erika, Ihr Gutschein wartet in Köln!"
    )
    assert shown_details(panel_app, "de", [f"preview: {preview}"]) == [
        "Vorschau: SMS an: +491712345678; Gateway: recorder; GSM-7, 1 Teil; "
        "Text: Hallo Erika, Ihr Gutschein wartet in Köln!"
    ]
    assert shown_details(panel_app, "en", [f"preview: {preview}"]) == [f"preview: {preview}"]
    assert sms.preview(contact("0221 123456"), context) == (
        "no SMS: '0221 123456' is a landline, not a mobile number"
    )
    assert Recorder.sent == []


def test_why_there_is_no_sms_is_shown_in_the_readers_language(context, panel_app):
    """The preview's prefix and the action's own reason through the actions' catalog; the
    core's reason (a landline, a template's error after its line) stays as written."""
    too_long = action(template="{{ 'Langer Text. ' * 13 }}", max_segments=1)
    details = [
        too_long.preview(contact(), context),
        too_long.process(contact(), context).detail,
        action().preview(contact("0221 123456"), context),
        action()
        .process(Recipient("contacts:3", "contacts", 3, {"email": "a@b.de"}), context)
        .detail,
        action(template="Hallo {{ frist_name }}").process(contact(), context).detail,
    ]
    assert shown_details(panel_app, "de", details) == [
        "keine SMS: der Text braucht 2 Teile (GSM-7, 169 Zeichen), mehr als die erlaubten 1",
        "der Text braucht 2 Teile (GSM-7, 169 Zeichen), mehr als die erlaubten 1",
        "keine SMS: „0221 123456“ ist ein Festnetzanschluss, keine Mobilnummer",
        "der Datensatz hat kein Feld für die Mobilnummer: mobile, contact.mobile",
        "Zeile 1: unbekannter Platzhalter „frist_name“",
    ]
    assert shown_details(panel_app, "en", details) == details


# --- whole campaigns through the engine, with a real worker -----------------------------

MOBILES = {
    1: ("0171 2345678", "Erika"),
    2: ("+49 (0)151-12345678", "Łucja Małgorzata Wiśniewska-Kowalczyk"),  # UCS-2, 2 segments
    3: ("0049 176 12345678", None),
    4: ("0221 123456", "Hans"),  # a landline
    5: ("12345", "Eva"),
    6: (None, "Paul"),
    7: ("+44 7400 123456", "Amy"),
}
VALID = {1: "+491712345678", 2: "+4915112345678", 3: "+4917612345678", 7: "+447400123456"}


@pytest.fixture
def sms_engine(engine):
    for name, plugin in [
        ("plugins.actions.sms", sms_action),
        ("plugins.gateways.http_sms", http_sms),
        ("plugins.gateways.outbox_sms", outbox_sms),
        ("sms_test_plugins", SmsTestPlugins),
    ]:
        engine.runtime.plugins.add(plugin, name, "test")
    assert engine.runtime.plugins.errors == []
    ids = engine.add_contacts(len(MOBILES))
    with engine.runtime.database.session() as session:
        for contact_id, (mobile, first_name) in zip(ids, MOBILES.values(), strict=True):
            session.execute(
                update(Contact)
                .where(Contact.id == contact_id)
                .values(mobile=mobile, first_name=first_name)
            )
    return engine


@pytest.fixture
def provider():
    provider = FakeProvider()
    yield provider
    provider.close()


def sms_campaign(engine, gateway, gateway_settings):
    return engine.campaign(
        action="sms",
        datasource="sms_test_contacts",
        action_settings={
            "gateway": gateway,
            "gateway_settings": gateway_settings,
            "template": TEMPLATE,
            "sender": "Campaign",
        },
    )


def test_an_sms_campaign_sends_once_to_every_mobile(sms_engine, provider, panel_app):
    engine = sms_engine
    campaign = sms_campaign(
        engine, "http", {"url": provider.url, "message_id_path": "messages.0.id"}
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()

    finished = engine.run(run.id)
    # a landline, a number that is none and no number are nothing to do, not failures
    assert (finished.state, finished.done, finished.failed, finished.skipped) == (
        RunState.COMPLETED,
        4,
        0,
        3,
    )
    assert sorted(provider.keys()) == sorted(f"run{run.id}-contacts:{n}" for n in VALID)
    assert {seen.body["to"]: seen.body["text"] for seen in provider.requests} == {
        number: TEMPLATE.replace("{{ first_name }}", MOBILES[n][1] or "").replace(
            "{{ city }}", ["Köln", "Berlin", "München"][n % 3]
        )
        for n, number in VALID.items()
    }
    assert {seen.body["from"] for seen in provider.requests} == {"Campaign"}

    items = {item.key: item for item in engine.items(run.id)}
    done = {key: (item.units, item.reference) for key, item in items.items() if item.units}
    assert done == {
        f"contacts:{n}": (2 if n == 2 else 1, provider.accepted[f"run{run.id}-contacts:{n}"])
        for n in VALID
    }
    reference = items["contacts:1"].reference
    assert items["contacts:1"].detail == f"GSM-7, 1 segment; message id: {reference}"
    assert items["contacts:2"].detail.startswith("UCS-2, 2 segments; message id: ")
    assert shown_details(panel_app, "de", [items["contacts:1"].detail]) == [
        f"GSM-7, 1 Teil; Nachrichten-ID: {reference}"
    ]
    assert [(items[f"contacts:{n}"].status, items[f"contacts:{n}"].detail) for n in (4, 5, 6)] == [
        (ItemStatus.SKIPPED, SkipReason.NO_MOBILE.value)
    ] * 3

    assert process_chunk(run.id, 0).endswith("skipped, run is completed")
    with engine.runtime.database.session() as session:  # even a run put back to work
        session.execute(update(Run).where(Run.id == run.id).values(state=RunState.RUNNING))
    assert process_chunk(run.id, 0).endswith("0 processed")
    assert len(provider.requests) == len(VALID)


def test_a_provider_that_bills_delivered_messages_marks_the_rows(sms_engine, provider, panel_app):
    engine = sms_engine
    settings = {"url": provider.url, "billing": "delivered"}
    run = start_run(engine.runtime, sms_campaign(engine, "http", settings), confirmed_by="test")
    engine.work()
    done = [item for item in engine.items(run.id) if item.status == ItemStatus.DONE]
    assert len(done) == len(VALID)
    assert all(item.billed_on_delivery and item.delivery is None for item in done)
    details = {item.detail for item in done if item.units == 1}  # no message_id_path: no id
    assert details == {"GSM-7, 1 segment; message id: unknown"}
    assert shown_details(panel_app, "de", list(details)) == [
        "GSM-7, 1 Teil; Nachrichten-ID: unbekannt"
    ]


def test_a_message_whose_fate_is_unknown_is_reported_unclear(sms_engine, provider):
    engine = sms_engine
    provider.answer(("slow", 1.5))
    settings = {"url": provider.url, "timeout": 0.3, "retry_unclear": False}
    run = start_run(engine.runtime, sms_campaign(engine, "http", settings), confirmed_by="test")
    engine.work()
    finished = engine.run(run.id)
    assert (finished.state, finished.done, finished.unclear) == (
        RunState.COMPLETED_WITH_ERRORS,
        3,
        1,
    )
    (unclear,) = [item for item in engine.items(run.id) if item.status == ItemStatus.UNCLEAR]
    assert "no answer within 0.3 s" in unclear.detail
    assert len(provider.requests) == len(VALID)


def test_an_sms_campaign_through_the_outbox(sms_engine):
    engine = sms_engine
    run = start_run(
        engine.runtime, sms_campaign(engine, "outbox", {"file": "dev.jsonl"}), confirmed_by="test"
    )
    engine.work()
    assert engine.run(run.id).done == len(VALID)
    outbox = engine.runtime.settings.data_dir / "outbox" / "dev.jsonl"
    written = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["number"] for line in written) == sorted(VALID.values())
    assert {line["sender"] for line in written} == {"Campaign"}
    references = {item.key: item.reference for item in engine.items(run.id) if item.reference}
    assert sorted(references.values()) == sorted(line["id"] for line in written)
