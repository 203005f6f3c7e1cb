"""The platform's reach rule (core.reach): every run of an action with a channel leaves out
blocked, opted-out and unreachable recipients, whatever the campaign's filters, and says why
in the ledger as soon as targeting is done."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select, update
from test_filters_common import add_filter_plugins

from core import Action, Channel, DataSource, Outcome, Recipient, Scope, hookimpl
from core.engine.runs import confirm_run, start_run
from core.engine.targeting import target_run
from core.models import Campaign, Contact, Contract, ItemKind, Product, RunItem, SalesPartner
from core.reach import (
    SkipReason,
    has_complete_address,
    reason_text,
    refusals,
    skip_reason,
    valid_mobile,
)
from webapp.campaigns.records import import_csv

COMPLETE = {"last_name": "Kurz", "street": "Hauptstr. 1", "postcode": "50667", "city": "Köln"}
PEOPLE = {
    # name: (fields, reason for a letter, reason for an e-mail, reason for an SMS)
    "plain": ({}, None, None, None),
    "blocked": ({"dispatch_block": True}, "dispatch_block", "dispatch_block", "dispatch_block"),
    "no_post": ({"opt_out_post": True}, "opt_out_post", None, None),
    "no_email": ({"opt_out_email": True}, None, "opt_out_email", None),
    "no_sms": ({"opt_out_sms": True}, None, None, "opt_out_sms"),
    "no_phone": ({"opt_out_phone": True}, None, None, None),
    "no_house_number": ({"street": "Hauptstraße"}, "incomplete_address", None, None),
    "po_box": ({"street": None, "address_extra": "Postfach 1234"}, None, None, None),
    "no_town": ({"city": None}, "incomplete_address", None, None),
    "bad_email": ({"email": "kein-at.example.de"}, None, "no_email", None),
    # a bounce marked the address undeliverable (its own address is <name>@example.de)
    "bounced": ({"email_undeliverable": "bounced@example.de"}, None, "email_undeliverable", None),
    "bounced_before": ({"email_undeliverable": "old@example.de"}, None, None, None),
    "landline": ({"mobile": "0221 123456"}, None, None, "no_mobile"),
    "blocked_and_incomplete": (
        {"dispatch_block": True, "postcode": None},
        "dispatch_block",
        "dispatch_block",
        "dispatch_block",
    ),
}
CHANNEL_COLUMN = {"test_letter": 1, "test_notify": 2, "test_texts": 3}


class TextsParams(BaseModel):
    path: str = ""


class Texts(Action):
    name = "test_texts"
    title = "An SMS per recipient (only counted)"
    Params = TextsParams
    channel = Channel.MOBILE

    def process(self, recipient, context):
        return Outcome.done()


class GroupLetter(Action):
    """One letter per town, to every member the rule lets through."""

    name = "test_group_letter"
    title = "A letter per group"
    Params = TextsParams
    scope = Scope.GROUP
    channel = Channel.POSTAL
    external_effects = True

    def process(self, recipient, context):
        members = sorted(r.data["last_name"] for r in context.members(recipient.group))
        with Path(self.params.path).open("a") as handle:
            handle.write(f"{recipient.group}: {' '.join(members)}\n")
        return Outcome.done()


@hookimpl
def register_actions(register):
    register(Texts)
    register(GroupLetter)


@pytest.fixture
def engine(engine):
    engine.runtime.plugins.add(sys.modules[__name__], "reach_test_actions", "test")
    return engine


def add_people(engine, names=tuple(PEOPLE), **common) -> dict[str, int]:
    """One contact per case of PEOPLE, all with an e-mail address and a mobile number."""
    rows = []
    for number, name in enumerate(names, start=1):
        fields = {
            "number": f"R-{number:03d}",
            "email": f"{name}@example.de",
            "mobile": "0171 1234567",
            "attributes": {},
            **COMPLETE,
            "last_name": name,
            **PEOPLE[name][0],
            **common,
        }
        rows.append(fields)
    ids = []
    with engine.runtime.database.session() as session:
        for row in rows:
            contact = Contact(**row)
            session.add(contact)
            session.flush()
            ids.append(contact.id)
    return dict(zip(names, ids, strict=True))


def expected(action: str, names=tuple(PEOPLE), service=False) -> dict[str, str | None]:
    column = CHANNEL_COLUMN[action]
    result = {}
    for name in names:
        reason = PEOPLE[name][column]
        if service and reason and reason.startswith("opt_out"):
            reason = None
        result[name] = None if reason is None else f"reach.{reason}"
    return result


def outcomes(engine, run_id: int, ids: dict[str, int]) -> dict[str, tuple[str, str | None]]:
    by_id = {contact_id: name for name, contact_id in ids.items()}
    return {
        by_id[item.entity_id]: (item.status.value, item.detail)
        for item in engine.items(run_id)
        if item.kind != ItemKind.GROUP
    }


def skipped_reasons(engine, run_id, ids) -> dict[str, str | None]:
    return {
        name: detail if status == "skipped" else None
        for name, (status, detail) in outcomes(engine, run_id, ids).items()
    }


def ledger_counts(engine, run_id: int) -> dict[tuple[str, str | None], int]:
    with engine.runtime.database.session() as session:
        rows = session.execute(
            select(RunItem.status, RunItem.detail, func.count())
            .where(RunItem.run_id == run_id)
            .group_by(RunItem.status, RunItem.detail)
        )
        return {(status.value, detail): count for status, detail, count in rows}


# --- the Python definition -----------------------------------------------------------------


@pytest.mark.parametrize("action", list(CHANNEL_COLUMN))
def test_the_python_rule_gives_each_case_its_reason(action):
    channel = {"test_letter": Channel.POSTAL, "test_notify": Channel.EMAIL}.get(
        action, Channel.MOBILE
    )
    for name, wanted in expected(action).items():
        data = {"email": f"{name}@example.de", "mobile": "0171 1234567", **COMPLETE}
        data |= PEOPLE[name][0]
        found = skip_reason(data, channel)
        assert (name, None if found is None else found.value) == (name, wanted)


def test_reasons_read_in_english_on_the_command_line():
    assert reason_text("reach.opt_out_email") == "Opted out of e-mail"
    assert reason_text("reach.incomplete_address") == "Incomplete postal address"
    assert reason_text("3 pages") == "3 pages"  # any other detail as it is


def test_a_foreign_address_needs_its_country_code_and_a_mobile_its_region():
    assert has_complete_address(COMPLETE | {"country": "AT"})
    assert not has_complete_address(COMPLETE | {"country": "A"})
    assert valid_mobile("0664 1234567", "AT") and not valid_mobile("0664 1234567", "DE")


def test_the_dispatcher_check_reads_a_contracts_contact_from_the_address_book(database):
    with database.session() as session:
        contact = Contact(number="K-1", last_name="Kurz", dispatch_block=True, attributes={})
        product = Product(code="P", name="Tarif")
        partner = SalesPartner(number="P-1", name="Partner")
        session.add_all([contact, product, partner])
        session.flush()
        contract = Contract(
            number="V-1",
            contact_id=contact.id,
            product_id=product.id,
            signed_on=date(2026, 1, 1),
            amount=Decimal("10.00"),
        )
        session.add(contract)
        session.flush()
        loaded = [
            Recipient("contracts:1", "contracts", contract.id, {"number": "V-1"}),
            Recipient("partners:1", "partners", partner.id, {"name": "Partner"}),
        ]
        assert refusals(session, loaded, Channel.POSTAL) == {
            "contracts:1": SkipReason.DISPATCH_BLOCK
        }
        assert refusals(session, loaded, Channel.NONE) == {}


# --- whole runs ------------------------------------------------------------------------------


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
@pytest.mark.parametrize("action", list(CHANNEL_COLUMN))
def test_a_campaign_without_filters_skips_the_blocked_opted_out_and_unreachable(
    engine, tmp_path, datasource, action
):
    ids = add_people(engine)
    settings = {"path": str(tmp_path / "out.txt")} if action != "test_letter" else {}
    campaign = engine.campaign(action=action, datasource=datasource, action_settings=settings)
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    target_run(run.id)
    wanted = expected(action)
    # as soon as targeting is done the ledger says who will be reached and who not, and why
    assert skipped_reasons(engine, run.id, ids) == wanted
    skipped = sum(1 for reason in wanted.values() if reason)
    assert ledger_counts(engine, run.id)[("pending", None)] == len(PEOPLE) - skipped
    assert (engine.run(run.id).targeted, engine.run(run.id).skipped) == (len(PEOPLE), skipped)

    engine.work()
    finished = engine.run(run.id)
    assert (finished.done, finished.failed, finished.skipped) == (
        len(PEOPLE) - skipped,
        0,
        skipped,
    )
    reached = {
        name for name, (status, _) in outcomes(engine, run.id, ids).items() if status == "done"
    }
    assert reached == {name for name, reason in wanted.items() if reason is None}


def test_a_dry_run_shows_the_same_skips_as_a_real_run(engine):
    ids = add_people(engine)
    dry = start_run(engine.runtime, engine.campaign(action="test_letter"), dry_run=True)
    engine.work()
    assert engine.run(dry.id).state.value == "completed"
    found = skipped_reasons(engine, dry.id, ids)
    assert {name: detail for name, detail in found.items() if detail.startswith("reach.")} == {
        name: reason for name, reason in expected("test_letter").items() if reason
    }
    assert engine.run(dry.id).skipped == len(PEOPLE)


def test_the_consent_filter_still_works_for_another_channel(engine, tmp_path):
    add_filter_plugins(engine, "consent")
    ids = add_people(engine)
    campaign = engine.campaign(
        action="test_notify",
        action_settings={"path": str(tmp_path / "out.txt")},
        filters=[{"name": "consent", "settings": {"channel": "postal"}}],
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    target_run(run.id)
    found = skipped_reasons(engine, run.id, ids)
    # the filter drops post opt-outs from the ledger; the rule skips e-mail opt-outs
    assert "no_post" not in found and "blocked" not in found
    assert found["no_email"] == "reach.opt_out_email"


def test_service_communication_passes_opt_outs_never_a_block(engine):
    ids = add_people(engine)
    campaign = engine.campaign(action="test_letter")
    with engine.runtime.database.session() as session:
        session.execute(
            update(Campaign).where(Campaign.id == campaign).values(service_communication=True)
        )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    assert run.config["service_communication"] is True
    with engine.runtime.database.session() as session:  # editing does not change the run
        session.execute(
            update(Campaign).where(Campaign.id == campaign).values(service_communication=False)
        )
    engine.work()
    reasons = skipped_reasons(engine, run.id, ids)
    assert reasons == expected("test_letter", service=True)
    assert reasons["blocked"] == "reach.dispatch_block" and reasons["no_post"] is None


def test_a_block_set_after_targeting_still_stops_the_action(engine):
    ids = add_people(engine, ("plain", "no_email"))
    campaign = engine.campaign(
        action="test_letter", datasource="test_records", datasource_settings={"entity": "contacts"}
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    target_run(run.id)
    with engine.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id == ids["plain"]).values(
            dispatch_block=True))  # fmt: skip
    engine.work()
    assert outcomes(engine, run.id, ids) == {
        "plain": ("skipped", "reach.dispatch_block"),
        "no_email": ("done", None),
    }


def test_group_actions_apply_the_rule_to_their_members(engine, tmp_path):
    ids = add_people(engine, ("plain", "blocked", "no_post", "no_town", "po_box"))
    out = tmp_path / "groups.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(action="test_group_letter", action_settings={"path": str(out)}),
        confirmed_by="test",
    )
    engine.work()
    assert out.read_text().splitlines() == ["Köln: plain po_box"]
    assert skipped_reasons(engine, run.id, ids) == {
        "plain": None,
        "blocked": "reach.dispatch_block",
        "no_post": "reach.opt_out_post",
        "no_town": "reach.incomplete_address",
        "po_box": None,
    }
    assert engine.run(run.id).skipped == 3


def test_contracts_count_through_their_contact(engine, tmp_path):
    ids = add_people(engine, ("plain", "blocked", "no_email"))
    with engine.runtime.database.session() as session:
        product = Product(code="P", name="Tarif")
        session.add(product)
        session.flush()
        contracts = {}
        for name, contact_id in ids.items():
            contract = Contract(
                number=f"V-{name}",
                contact_id=contact_id,
                product_id=product.id,
                signed_on=date(2026, 1, 1),
                amount=Decimal("10.00"),
            )
            session.add(contract)
            session.flush()
            contracts[name] = contract.id
    campaign = engine.campaign(
        action="test_notify",
        action_settings={"path": str(tmp_path / "out.txt")},
        datasource="test_records",
        datasource_settings={"entity": "contracts"},
    )
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    engine.work()
    assert skipped_reasons(engine, run.id, contracts) == {
        "plain": None,
        "blocked": "reach.dispatch_block",
        "no_email": "reach.opt_out_email",
    }


def test_imported_rows_count_with_the_contact_of_their_number(engine, tmp_path):
    from datasource_helpers import with_sources

    engine = with_sources(engine)
    add_people(engine, ("plain", "blocked", "no_email"))
    csv = (
        "Nummer;Nachname;E-Mail;Straße;PLZ;Ort\r\n"
        "R-001;plain;plain@example.de;Hauptstr. 1;50667;Köln\r\n"
        "R-002;blocked;blocked@example.de;Hauptstr. 1;50667;Köln\r\n"
        "R-003;no_email;no_email@example.de;Hauptstr. 1;50667;Köln\r\n"
        ";fremd;fremd@example.de;Hauptstr. 1;50667;Köln\r\n"
        "R-001;kurz;kurz@example.de;;50667;Köln\r\n"
    ).encode()
    campaign = engine.campaign(
        action="test_notify", action_settings={"path": str(tmp_path / "out.txt")},
        datasource="file_import",
    )  # fmt: skip
    with engine.runtime.database.session() as session:
        import_csv(session, campaign, csv)
    run = start_run(engine.runtime, campaign, confirmed_by="test")
    target_run(run.id)
    details = [(item.status.value, item.detail) for item in engine.items(run.id)]
    assert details == [
        ("pending", None),
        ("skipped", "reach.dispatch_block"),
        ("skipped", "reach.opt_out_email"),
        ("skipped", "reach.no_consent_data"),
        ("pending", None),  # an e-mail needs no street
    ]
    campaign = engine.campaign(action="test_letter", datasource="file_import")
    letters = start_run(engine.runtime, campaign, confirmed_by="test")
    with engine.runtime.database.session() as session:
        import_csv(session, letters.campaign_id, csv)
    target_run(letters.id)
    assert [item.detail for item in engine.items(letters.id)][-1] == "reach.incomplete_address"


def test_an_opt_out_given_while_a_run_of_imported_rows_awaits_its_confirmation_counts(
    engine, tmp_path
):
    """Imported rows count with their contact's block and opt-outs at dispatch too, as
    contacts do: a person who opts out between the analysis and the confirmation (up to a
    day) gets nothing."""
    from datasource_helpers import with_sources

    engine = with_sources(engine)
    ids = add_people(engine, ("plain", "no_post"))
    csv = (
        "Nummer;Nachname;E-Mail;Straße;PLZ;Ort\r\n"
        "R-001;plain;plain@example.de;Hauptstr. 1;50667;Köln\r\n"
        "R-002;no_post;no_post@example.de;Hauptstr. 1;50667;Köln\r\n"
    ).encode()
    out = tmp_path / "out.txt"
    campaign = engine.campaign(
        action="test_notify", action_settings={"path": str(out)}, datasource="file_import"
    )
    with engine.runtime.database.session() as session:
        import_csv(session, campaign, csv)
    run = start_run(engine.runtime, campaign)
    engine.work()
    assert engine.run(run.id).state.value == "awaiting_confirmation"
    with engine.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id == ids["plain"]).values(
            opt_out_email=True))  # fmt: skip
        session.execute(update(Contact).where(Contact.id == ids["no_post"]).values(
            dispatch_block=True))  # fmt: skip
    confirm_run(engine.runtime, run.id, "test", 2)
    engine.work()
    assert not out.exists()
    assert [(item.status.value, item.detail) for item in engine.items(run.id)] == [
        ("skipped", "reach.opt_out_email"),
        ("skipped", "reach.dispatch_block"),
    ]
    assert engine.run(run.id).skipped == 2


def test_a_block_set_after_targeting_leaves_a_group_member_out(engine, tmp_path):
    """A group action's members are checked again when the action reads them: a member
    blocked since targeting is not written to, and its row says why."""
    ids = add_people(engine, ("plain", "po_box"))
    out = tmp_path / "groups.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(
            action="test_group_letter",
            action_settings={"path": str(out)},
            datasource="test_records",  # whole records: their consent flags too
            datasource_settings={"entity": "contacts"},
        ),
    )
    engine.work()
    with engine.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id == ids["plain"]).values(
            dispatch_block=True))  # fmt: skip
    confirm_run(engine.runtime, run.id, "test", 1)
    engine.work()
    assert out.read_text().splitlines() == ["None: po_box"]  # one group of every record
    assert skipped_reasons(engine, run.id, ids) == {
        "plain": "reach.dispatch_block",
        "po_box": None,
    }
    assert engine.run(run.id).skipped == 1


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
def test_a_block_set_after_targeting_counts_whatever_fields_the_source_loads(
    engine, tmp_path, datasource
):
    """The dispatcher reads the block and the opt-out again from the address book, not from
    what the data source loaded: a source that loads a few fields of each contact (these
    load name, e-mail and town) cannot carry a refusal past the check."""
    ids = add_people(engine, ("plain", "no_post", "po_box"))
    out = tmp_path / "out.txt"
    campaign = engine.campaign(
        action="test_notify", action_settings={"path": str(out)}, datasource=datasource
    )
    run = start_run(engine.runtime, campaign)
    engine.work()
    with engine.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id == ids["plain"]).values(
            dispatch_block=True))  # fmt: skip
        session.execute(update(Contact).where(Contact.id == ids["no_post"]).values(
            opt_out_email=True))  # fmt: skip
    confirm_run(engine.runtime, run.id, "test", 3)
    engine.work()
    assert out.read_text().splitlines() == [f"contacts:{ids['po_box']}"]
    assert skipped_reasons(engine, run.id, ids) == {
        "plain": "reach.dispatch_block",
        "no_post": "reach.opt_out_email",
        "po_box": None,
    }
    assert engine.run(run.id).skipped == 2


def test_a_block_set_after_targeting_leaves_out_a_member_whatever_the_source_loads(
    engine, tmp_path
):
    ids = add_people(engine, ("plain", "po_box"))
    out = tmp_path / "groups.txt"
    campaign = engine.campaign(action="test_group_letter", action_settings={"path": str(out)})
    run = start_run(engine.runtime, campaign)
    engine.work()
    with engine.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id == ids["plain"]).values(
            dispatch_block=True))  # fmt: skip
    confirm_run(engine.runtime, run.id, "test", 1)
    engine.work()
    assert out.read_text().splitlines() == ["Köln: po_box"]
    assert skipped_reasons(engine, run.id, ids) == {"plain": "reach.dispatch_block", "po_box": None}


class CrmPeople(DataSource):
    """People of an outside CRM: records of an entity the core does not know, which name
    their contact by its number, as imported rows do."""

    name = "test_crm_people"
    title = "People in the CRM"

    def entity(self):
        return "crm_people"

    def iter_recipients(self, context):
        numbers = context.session.scalars(select(Contact.number).order_by(Contact.id)).all()
        return iter(self.load(context, range(1, len(numbers) + 1)).values())

    def load(self, context, ids):
        people = {}
        for person in ids:
            data = {"number": f"R-{person:03d}", "email": f"crm{person}@example.de"}
            people[person] = Recipient(f"crm:{person}", "crm_people", person, data)
        return people


@hookimpl
def register_datasources(register):
    register(CrmPeople)


def test_records_of_an_outside_source_count_with_their_contact_at_dispatch_too(engine, tmp_path):
    """Targeting reads the contact an outside record's number names; so does the dispatcher,
    so an opt-out given while the run awaits its confirmation counts."""
    ids = add_people(engine, ("plain", "no_email", "po_box"))
    out = tmp_path / "out.txt"
    campaign = engine.campaign(
        action="test_notify", action_settings={"path": str(out)}, datasource="test_crm_people"
    )
    run = start_run(engine.runtime, campaign)
    engine.work()
    assert [item.detail for item in engine.items(run.id)] == [None, "reach.opt_out_email", None]
    with engine.runtime.database.session() as session:
        session.execute(update(Contact).where(Contact.id == ids["plain"]).values(
            dispatch_block=True))  # fmt: skip
    confirm_run(engine.runtime, run.id, "test", 2)
    engine.work()
    assert out.read_text().splitlines() == ["crm:3"]
    assert [(item.status.value, item.detail) for item in engine.items(run.id)] == [
        ("skipped", "reach.dispatch_block"),
        ("skipped", "reach.opt_out_email"),
        ("done", None),
    ]
