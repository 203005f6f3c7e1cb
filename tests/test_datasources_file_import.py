"""The "file import" source: rows of a CSV upload run as a campaign, end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from core import Action, Channel, Group, Outcome, hookimpl
from core.engine.campaigns import CampaignError
from core.models import CampaignRecord, ItemStatus, RunState
from webapp.campaigns.records import import_csv

from datasource_helpers import create, groups, run, with_sources

UPLOAD = (
    "Vorname;Nachname;E-Mail;PLZ;Ort\r\n"  # 1
    "Jürgen;Müller;jm@example.de;50667;Köln\r\n"  # 2
    "Änne;Weiß;kein-mail;10115;Berlin\r\n"  # 3: not imported
    'Otto;"Groß\r\nKlein";otto@example.de;10115;Berlin\r\n'  # 4-5
    "Paula;Pohl;;50667;Köln\r\n"  # 6: no e-mail address
    "Rita;Rot;rita@example.de;123;Köln\r\n"  # 7: not imported
    "Sven;Sand;sven@example.de;80331;\r\n"  # 8
).encode("cp1252")


class WriteRowParams(BaseModel):
    path: str


class WriteRow(Action):
    """Appends "<key> <e-mail> <last name>" per recipient: an effect outside the database."""

    name = "test_write_row"
    title = "Write the recipient's row to a file"
    Params = WriteRowParams
    channel = Channel.NONE  # the rows themselves are under test, not the reach rule
    external_effects = True

    def process(self, recipient, context):
        with Path(self.params.path).open("a", encoding="utf-8") as handle:
            data = recipient.data
            handle.write(f"{recipient.key} {data['email']} {data['last_name']!r}\n")
        return Outcome.done()


@hookimpl
def register_actions(register):
    register(WriteRow)


@pytest.fixture
def engine(engine):
    engine.runtime.plugins.add(sys.modules[__name__], "file_import_test_actions", "test")
    return with_sources(engine)


def campaign_with_upload(engine, out: Path, settings=None, **options) -> tuple[int, list[int]]:
    campaign = create(
        engine,
        "file_import",
        settings or {},
        action="test_write_row",
        action_settings={"path": str(out)},
        **options,
    )
    with engine.runtime.database.session() as session:
        import_csv(session, campaign, UPLOAD, only_valid_rows=True)  # two rows left out
    return campaign, [record.id for record in _records(engine, campaign)]


def _records(engine, campaign):
    with engine.runtime.database.session() as session:
        return session.scalars(
            select(CampaignRecord)
            .where(CampaignRecord.campaign_id == campaign)
            .order_by(CampaignRecord.id)
        ).all()


def test_an_imported_file_runs_end_to_end(engine, tmp_path):
    out = tmp_path / "sent.txt"
    campaign, rows = campaign_with_upload(engine, out)
    finished = run(engine, campaign)
    assert (finished.state, finished.targeted, finished.done) == (RunState.COMPLETED, 4, 4)
    assert sorted(out.read_text(encoding="utf-8").splitlines()) == [
        f"import:{rows[0]} jm@example.de 'Müller'",
        f"import:{rows[1]} otto@example.de 'Groß\\r\\nKlein'",
        f"import:{rows[2]} None 'Pohl'",
        f"import:{rows[3]} sven@example.de 'Sand'",
    ]
    items = engine.items(finished.id)
    assert {(item.entity, item.status) for item in items} == {("import", ItemStatus.DONE)}


def test_a_streaming_filter_sees_the_imported_fields(engine, tmp_path):
    out = tmp_path / "sent.txt"
    campaign, _ = campaign_with_upload(engine, out, filters=[{"name": "test_has_email_streaming"}])
    assert run(engine, campaign).targeted == 3
    assert "Pohl" not in out.read_text(encoding="utf-8")


def test_groups_of_imported_rows(engine, tmp_path):
    out = tmp_path / "sent.txt"
    campaign, rows = campaign_with_upload(
        engine, out, {"group_by": "city"}, group_keys=["Köln", ""]
    )
    assert groups(engine, campaign) == [
        Group("Berlin", "Berlin", 1),
        Group("Köln", "Köln", 2),
        Group("", "(empty)", 1),
    ]
    assert run(engine, campaign).targeted == 3
    reached = {line.split()[0] for line in out.read_text(encoding="utf-8").splitlines()}
    assert reached == {f"import:{rows[0]}", f"import:{rows[2]}", f"import:{rows[3]}"}


def test_the_rows_stay_as_imported_until_the_next_import(engine, tmp_path):
    out = tmp_path / "sent.txt"
    campaign, _ = campaign_with_upload(engine, out)
    assert run(engine, campaign).targeted == 4
    with engine.runtime.database.session() as session:
        import_csv(session, campaign, b"Nachname;E-Mail\nNeu;neu@example.de\n")
    assert run(engine, campaign).targeted == 1


def test_group_by_must_be_a_standard_field(engine):
    with pytest.raises(CampaignError, match=r"^datasource\.settings\.group_by: Input should be"):
        create(engine, "file_import", {"group_by": "Ort"})
