import pytest
from sqlalchemy import select
from test_filters_common import (
    FilterContext,
    add_contacts,
    add_contracts,
    add_filter_plugins,
    imported,
    passed,
    same_in_sql_and_stream,
    sql_ids,
)

from core import Channel
from core.engine.runs import start_run
from core.models import Product, RunState
from core.query import QueryError
from plugins.filters.consent import Consent

CONTACTS = [
    {"last_name": "Frei"},
    {"last_name": "Gesperrt", "dispatch_block": True},
    {"last_name": "Keine Post", "opt_out_post": True},
    {"last_name": "Keine E-Mail", "opt_out_email": True},
    {"last_name": "Keine SMS", "opt_out_sms": True},
    {"last_name": "Kein Telefon", "opt_out_phone": True},
]


@pytest.mark.parametrize(
    ("channel", "refused"),
    [
        (Channel.POSTAL, {"Gesperrt", "Keine Post"}),
        (Channel.EMAIL, {"Gesperrt", "Keine E-Mail"}),
        (Channel.MOBILE, {"Gesperrt", "Keine SMS"}),
        (Channel.NONE, {"Gesperrt"}),
    ],
)
def test_the_dispatch_block_and_the_channels_opt_out(database, channel, refused):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session, channel=channel)
        assert same_in_sql_and_stream(Consent(), context) == {
            record_id
            for record_id, row in zip(ids, CONTACTS, strict=True)
            if row["last_name"] not in refused
        }


def test_a_chosen_channel_overrides_the_actions(database):
    with database.session() as session:
        ids = add_contacts(session, *CONTACTS)
        context = FilterContext(session, channel=Channel.EMAIL)
        consent = Consent({"channel": "postal"})
        assert same_in_sql_and_stream(consent, context) == {ids[0], ids[3], ids[4], ids[5]}


def test_contracts_follow_their_contacts_consent(database):
    with database.session() as session:
        free, blocked, no_mail = add_contacts(session, *CONTACTS[:2], CONTACTS[3])
        contracts = add_contracts(session, free, blocked, no_mail, free, blocked)
        context = FilterContext(session, entity="contracts", channel=Channel.EMAIL)
        assert same_in_sql_and_stream(Consent(), context) == {contracts[0], contracts[3]}


def test_roots_without_a_contact_are_refused_clearly(database):
    with database.session() as session:
        context = FilterContext(session, entity="products")
        query = select(Product.id.label("id"), Product.name.label("group_key"))
        with pytest.raises(QueryError, match=r"consent filter needs .* \(contacts, contracts\)"):
            sql_ids(Consent(), context, query)


def test_imported_rows_are_refused_because_they_carry_no_consent(database):
    with database.session() as session:
        context = FilterContext(session, entity="import", channel=Channel.EMAIL)
        with pytest.raises(ValueError, match="'import' rows have no table to check them"):
            passed(Consent(), imported({"email": "a@example.de"}), context)


@pytest.mark.parametrize("datasource", ["test_contacts", "test_streamed_contacts"])
def test_a_campaign_reaches_only_consenting_contacts_with_a_valid_address(
    engine, tmp_path, datasource
):
    """Consent (SQL) followed by the e-mail check (streaming) in a real run."""
    add_filter_plugins(engine, "consent", "channel")
    with engine.runtime.database.session() as session:
        ids = add_contacts(
            session,
            {"email": "a@example.de", "last_name": "A"},
            {"email": "b@example.de", "last_name": "B", "opt_out_email": True},
            {"email": "c@example", "last_name": "C"},
            {"email": "d@example.de", "last_name": "D", "dispatch_block": True},
            {"email": "E@Example.de", "last_name": "E", "opt_out_post": True},
        )
    out = tmp_path / "sent.txt"
    run = start_run(
        engine.runtime,
        engine.campaign(
            datasource=datasource,
            action="test_notify",
            action_settings={"path": str(out)},
            filters=[{"name": "consent"}, {"name": "channel"}],
        ),
        confirmed_by="test",
    )
    engine.work()
    run = engine.run(run.id)
    assert (run.state, run.targeted, run.done) == (RunState.COMPLETED, 2, 2)
    assert sorted(out.read_text().split()) == [f"contacts:{ids[0]}", f"contacts:{ids[4]}"]
