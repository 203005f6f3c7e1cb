"""supplierMgt through the scheduler's job (``process_helpers.run_pass``) on a real runtime:
letters extracted by real runs on a real RQ worker, files delivered to a real folder and a
real SFTP server, e-mails to a real SMTP server on loopback, result files read from an inbox;
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

import core.clock
import plugins.stores.filesystem as filesystem_store
import plugins.targets.folder as folder
import plugins.targets.sftp as sftp
import plugins.workflows.supplier as supplier_workflow
from core.clock import FrozenClock
from core.config import Settings
from core.engine.runs import start_run
from core.jobs.functions import install_runtime
from core.messages import StoredText
from core.models import (
    Campaign,
    Contact,
    FileDelivery,
    ItemStatus,
    Notification,
    Run,
    RunState,
    User,
    WorkflowRun,
)
from plugins.processes import TRANSLATIONS as PROCESS_TRANSLATIONS
from plugins.processes.approvals import (
    Reviewers,
    approval_for,
    approve,
    configure,
    reject,
    submit,
)
from plugins.processes.models import (
    Approval,
    ApprovalMode,
    ApprovalStep,
    CostType,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    ProviderStep,
    ProviderStepStatus,
    SentCounting,
    ServiceProcess,
)
from plugins.processes.provider_steps import decide_unclear_step
from plugins.workflows import TRANSLATIONS as WORKFLOW_TRANSLATIONS
from plugins.workflows._passes import Pass
from webapp.i18n import render_stored

import engine_plugins
from conftest import EngineHarness
from panel_helpers import detail_in
from process_helpers import build_world, campaign, every_row, run_pass
from upload_servers import SftpTestServer

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = DeliveryState
CATALOGS = {
    "plugins.workflows": [WORKFLOW_TRANSLATIONS],
    "plugins.processes": [PROCESS_TRANSLATIONS],
}
STEP = ApprovalStep
PROVIDER = "auftrag@druckerei-nord.de"
COLUMNS = [
    {"header": "Referenz", "field": "@reference"},
    {"header": "Name", "field": "last_name"},
    {"header": "Ort", "field": "city"},
]
RESULT_FORMAT = {
    "key_column": "Referenz",
    "status_column": "Status",
    "sent_values": ["versendet"],
    "failed_values": ["unzustellbar"],
    "reason_column": "Grund",
    "cost_column": "Porto",
}


class Crash(BaseException):
    """The worker running the pass dies here."""


@pytest.fixture
def settings(settings_with_mail: Settings) -> Settings:
    return settings_with_mail


@pytest.fixture
def harness(runtime_factory, monkeypatch) -> EngineHarness:
    from plugins.workflows import delivery, operation, supplier

    runtime = runtime_factory(
        ("engine_plugins", engine_plugins),
        ("supplier", supplier),
        ("delivery", delivery),
        ("operation", operation),
        ("plugins.targets.folder", folder),
        ("plugins.targets.sftp", sftp),
        ("plugins.stores.filesystem", filesystem_store),
    )
    runtime.clock = FrozenClock(NOW)
    monkeypatch.setattr(core.clock, "clock", runtime.clock)  # for the updated_at columns
    install_runtime(runtime)
    return EngineHarness(runtime)


@dataclass
class Letter:
    delivery_id: int
    campaign_id: int
    service_id: int
    manager_id: int
    reviewer_id: int
    provider_dir: Path
    inbox: Path


def letter(harness, tmp_path, contacts=4, process=True, **fields) -> Letter:
    """A letter of "Infobrief" through the print shop "Druckerei Nord", whose process writes
    reference, name and city, uploads into a folder and e-mails the shop."""
    provider_dir, inbox = tmp_path / "druckerei", tmp_path / "ergebnisse"
    inbox.mkdir()
    harness.add_contacts(contacts)
    with harness.runtime.database.session() as session:
        world = build_world(session)
        owner = campaign(session, manager_id=world.manager_id)
        if process:
            session.add(
                ServiceProcess(
                    service_id=world.print_service_id,
                    export_columns=COLUMNS,
                    file_name_pattern="{campaign}-{delivery}-{date}.csv",
                    notification_subject="Druckauftrag {{ campaign }}: {{ count }} Briefe",
                    notification_template=(
                        "Guten Tag,\nanbei {{ file }} mit {{ count }} Briefen zum Versand am "
                        "{{ planned_start }}.\nAbgelegt unter {{ location }}."
                    ),
                    notification_recipients=[PROVIDER],
                    upload_target="folder",
                    upload_settings={"path": str(provider_dir), "create": True},
                    result_format=RESULT_FORMAT | {"inbox": str(inbox)},
                )
            )
        delivery = Delivery(
            campaign_id=owner.id,
            label="Frühjahrsbrief",
            channel=DeliveryChannel.DIRECT_MAIL,
            action="test_letter",
            provider_service_id=world.print_service_id,
            planned_start_at=datetime(2026, 3, 9, 8, 0, tzinfo=UTC),
            cost_types=[session.get(CostType, world.envelope_dl_id)],
            **fields,
        )
        session.add(delivery)
        session.flush()
        return Letter(
            delivery.id, owner.id, world.print_service_id, world.manager_id, world.reviewer_id,
            provider_dir, inbox,
        )  # fmt: skip


def extract(harness, world: Letter, approve_file=True) -> Run:
    """What deliveryMgt and operationMgt did before, and the manager: the extraction run,
    the file to approve and its approval."""
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        if delivery.state is not S.EXTRACTION_PENDING:  # else extracted again
            for state in (S.APPROVED, S.EXTRACTION_PENDING):
                delivery.move_to(state, NOW)
    run = start_run(
        harness.runtime, world.campaign_id, delivery_id=world.delivery_id, confirmed_by="test"
    )
    harness.work()
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        delivery.move_to(S.FILE_TO_APPROVE, NOW)
        if approve_file:
            approval = submit(session, delivery, STEP.EXTRACTION, NOW)
            approve(session, approval.id, session.get(User, world.manager_id), NOW)
    return run


def state(harness, world: Letter) -> DeliveryState:
    with harness.runtime.database.session() as session:
        return session.get(Delivery, world.delivery_id).state


def steps(harness) -> dict[str, ProviderStep]:
    with harness.runtime.database.session() as session:
        return {step.key: step for step in session.scalars(select(ProviderStep))}


def provider_files(world: Letter) -> list[str]:
    return sorted(path.name for path in world.provider_dir.iterdir())


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=";"))


@pytest.mark.parametrize(
    ("count", "english", "german"),
    [
        (1, "1 file sent, 1 unclear step; 1 problem (see the log)",
         "1 Datei gesendet, 1 unklarer Schritt; 1 Problem (siehe Protokoll)"),
        (3, "3 files sent, 3 unclear steps; 3 problems (see the log)",
         "3 Dateien gesendet, 3 unklare Schritte; 3 Probleme (siehe Protokoll)"),
    ],
)  # fmt: skip
def test_a_pass_summary_counts_in_the_readers_language(count, english, german):
    """No "file(s)": the summary says each count in its form, in English and in German."""
    labels = {name: supplier_workflow.LABELS[name] for name in ("sent", "unclear")}
    result = Pass(None, labels)
    result.counts.update(dict.fromkeys(labels, count))
    result.problems.extend([StoredText("it failed")] * count)
    assert result.summary() == english
    assert detail_in("de", english, WORKFLOW_TRANSLATIONS) == german
    assert detail_in("en", english, WORKFLOW_TRANSLATIONS) == english


def test_an_approved_letter_goes_to_its_provider_once(harness, tmp_path, smtp):
    world = letter(harness, tmp_path)
    run = extract(harness, world)

    summary = run_pass("supplierMgt")

    assert summary.startswith(
        "1 extraction file written, 1 uploaded, 1 router e-mail sent, 0 proofs "
        "submitted, 1 file sent, 0 released without a provider, 1 finished"
    )
    name = "Infobrief-Fruehjahrsbrief-20260302.csv"
    assert provider_files(world) == [name, name + ".manifest.json"]
    rows = read_csv((world.provider_dir / name).read_bytes())
    items = harness.items(run.id)
    assert rows[0] == ["Referenz", "Name", "Ort"]
    assert rows[1:] == [
        [f"{world.delivery_id}-{item.id}", f"Name{n}", city]
        for n, (item, city) in enumerate(
            zip(items, ["Berlin", "München", "Köln", "Berlin"], strict=True), start=1
        )
    ]
    [mail] = smtp.to(PROVIDER)
    message = mail.message
    assert message["Subject"] == "Druckauftrag Infobrief: 4 Briefe"
    assert message["From"] == "Kampagne <kampagne@example.de>"
    body, attachment = list(message.iter_parts())
    assert body.get_content().replace("\r\n", "\n") == (
        f"Guten Tag,\nanbei {name} mit 4 Briefen zum Versand am 09.03.2026 09:00.\n"
        f"Abgelegt unter {world.provider_dir / name}.\n"
    )
    assert attachment.get_filename() == name
    assert attachment.get_content() == (world.provider_dir / name).read_bytes()
    assert state(harness, world) is S.FINISHED
    recorded = steps(harness)
    assert {key: step.status for key, step in recorded.items()} == {
        f"run-{run.id}/extraction": ProviderStepStatus.DONE,
        f"run-{run.id}/upload": ProviderStepStatus.DONE,
        f"run-{run.id}/router_email": ProviderStepStatus.DONE,
    }
    assert recorded[f"run-{run.id}/router_email"].facts["message_id"] == message["Message-ID"]
    details = {key.split("/")[1]: step.detail for key, step in recorded.items()}
    assert details == {
        "extraction": f"4 letters from run #{run.number}",
        "upload": f"{name} delivered to {world.provider_dir / name}",
        "router_email": f"sent to {PROVIDER}",
    }
    assert {key.split("/")[1]: read_in("de", step) for key, step in recorded.items()} == {
        "extraction": f"4 Briefe aus Lauf #{run.number}",
        "upload": f"{name} abgelegt unter {world.provider_dir / name}",
        "router_email": f"gesendet an {PROVIDER}",
    }

    before = every_row(harness.runtime.database)
    assert run_pass("supplierMgt").startswith("0 extraction files written, 0 uploaded")
    assert every_row(harness.runtime.database) == before
    assert len(smtp.messages) == 1
    assert provider_files(world) == [name, name + ".manifest.json"]


def letters_to_contacts(harness, world: Letter) -> None:
    """The letter's campaign writes to whole contacts, whose blocks and opt-outs count."""
    with harness.runtime.database.session() as session:
        owner = session.get(Campaign, world.campaign_id)
        owner.datasource, owner.datasource_settings = "test_records", {"entity": "contacts"}
        owner.action = "test_letter"


def test_a_file_whose_contacts_refused_letters_since_is_extracted_again_unsent(
    harness, tmp_path, smtp
):
    """A block set after the extraction: the approved file never reaches the provider; its
    run is voided, and the new extraction, without the blocked contact, waits for approval."""
    world = letter(harness, tmp_path)
    letters_to_contacts(harness, world)
    run = extract(harness, world)
    with harness.runtime.database.session() as session:
        first = session.get(Contact, harness.items(run.id)[0].entity_id)
        first.dispatch_block = True

    summary = run_pass("supplierMgt")

    assert "1 extracted again (refused since the extraction)" in summary
    assert state(harness, world) is S.EXTRACTION_PENDING
    assert not world.provider_dir.exists() and smtp.to(PROVIDER) == []
    with harness.runtime.database.session() as session:
        assert session.get(Run, run.id).superseded_at is not None
        [note] = session.scalars(
            select(Notification).where(Notification.kind == "extraction_repeated")
        ).all()
        assert (note.user_id, note.object_id) == (world.manager_id, world.delivery_id)
        assert read_in("de", note.body_message) == (
            "1 Empfänger der freigegebenen Datei wurde seit der Extraktion gesperrt oder hat "
            "widersprochen. Die Datei wurde nicht versandt; der Brief wird ohne diesen Empfänger "
            "neu extrahiert, und seine neue Datei wartet auf Freigabe."
        )

    again = extract(harness, world)
    assert "1 file sent" in run_pass("supplierMgt")
    [name] = [name for name in provider_files(world) if name.endswith(".csv")]
    assert len(read_csv((world.provider_dir / name).read_bytes())) == 1 + 3
    assert harness.run(again.id).skipped == 1


@pytest.mark.parametrize("raw_values", [False, True], ids=["neutralised", "raw"])
def test_formula_cells_are_neutralised_unless_the_provider_wants_raw_values(
    harness, tmp_path, smtp, raw_values
):
    world = letter(harness, tmp_path)
    hostile = '=HYPERLINK("http://evil.example/";"Klick")'
    with harness.runtime.database.session() as session:
        session.scalar(select(ServiceProcess)).raw_values = raw_values
        contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
        contacts[0].last_name, contacts[1].last_name = hostile, "+1+cmd|' /C calc'!A0"
    extract(harness, world)
    run_pass("supplierMgt")
    name = "Infobrief-Fruehjahrsbrief-20260302.csv"
    names = [row[1] for row in read_csv((world.provider_dir / name).read_bytes())[1:]]
    if raw_values:
        assert names[:2] == [hostile, "+1+cmd|' /C calc'!A0"]
    else:
        assert names[:2] == [f"'{hostile}", "'+1+cmd|' /C calc'!A0"]


def test_the_provider_result_file_marks_each_letter_and_sets_the_real_cost(harness, tmp_path, smtp):
    world = letter(harness, tmp_path, sent_counting=SentCounting.RESULT_FILE)
    run = extract(harness, world)
    run_pass("supplierMgt")
    assert state(harness, world) is S.FILE_SENT  # waits for the provider's result
    items = harness.items(run.id)
    ref = [f"{world.delivery_id}-{item.id}" for item in items]
    (world.inbox / "ergebnis-0309.csv").write_text(
        "Referenz;Status;Grund;Porto\r\n"
        f"{ref[0]};versendet;;0,85\r\n"
        f"{ref[1]};Unzustellbar;Adresse unbekannt;0,00\r\n"
        f"{ref[2]};versendet;;0,85\r\n"
        f"{ref[3]};versendet;;0,85\r\n",
        encoding="utf-8",
    )

    assert "1 result file imported" in run_pass("supplierMgt")

    assert [item.status for item in harness.items(run.id)] == [
        ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.DONE, ItemStatus.DONE
    ]  # fmt: skip
    assert harness.items(run.id)[1].detail == "provider: Unzustellbar: Adresse unbekannt"
    counted = harness.run(run.id)
    assert (counted.done, counted.failed, counted.state) == (
        3, 1, RunState.COMPLETED_WITH_ERRORS
    )  # fmt: skip
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        assert (delivery.state, delivery.real_cost) == (S.FINISHED, Decimal("2.55"))
        [told] = session.scalars(
            select(Notification.subject).where(Notification.kind == "provider_result")
        ).all()
    assert told == "Result of Frühjahrsbrief (Infobrief): 3 sent, 1 failed"
    assert sorted(p.name for p in (world.inbox / "imported").iterdir()) == ["ergebnis-0309.csv"]
    assert not (world.inbox / "ergebnis-0309.csv").exists()

    before = every_row(harness.runtime.database)
    run_pass("supplierMgt")
    assert every_row(harness.runtime.database) == before


def test_a_result_file_with_problems_changes_nothing_and_names_each_line(harness, tmp_path, smtp):
    world = letter(harness, tmp_path, sent_counting=SentCounting.RESULT_FILE)
    run = extract(harness, world)
    run_pass("supplierMgt")
    first = harness.items(run.id)[0]
    (world.inbox / "ergebnis.csv").write_text(
        "Referenz;Status;Grund;Porto\n"
        f"{world.delivery_id}-{first.id};versendet;;0,85\n"
        f"{world.delivery_id}-999999;versendet;;0,85\n"
        f"{world.delivery_id}-{first.id};versendet;;0,85\n"
        "K-17;verschickt;;viel\n",
        encoding="utf-8",
    )
    before = every_row(harness.runtime.database)

    summary = run_pass("supplierMgt")

    assert summary.endswith("1 result file refused, 0 unclear steps; 1 problem (see the log)")
    assert every_row(harness.runtime.database) == before
    error = (world.inbox / "rejected" / "ergebnis.csv.error.txt").read_text()
    assert error == (
        "ergebnis.csv: line 4: reference "
        f"{world.delivery_id}-{first.id} was reported in line 2 already; line 5: Referenz "
        "'K-17' is not a reference such as '12-3456' (the extraction file's reference "
        "column)\n"
    )
    assert state(harness, world) is S.FILE_SENT


def read_in(language: str, text: ProviderStep | StoredText | dict) -> str:
    """A step's detail or a notification's stored text as the panel shows it in
    ``language``."""
    if isinstance(text, ProviderStep):
        text = text.detail_text
    if isinstance(text, dict):
        text = StoredText.from_json(text)
    return render_stored(text, language, CATALOGS)


def die_after(monkeypatch, kind: str) -> None:
    """A pass that dies right after the step ``kind`` happened, before it was recorded."""
    real_settle = supplier_workflow.SupplierPass.settle

    def settle(self, step, status, detail, **facts):
        if step.kind == kind and status is ProviderStepStatus.DONE:
            raise Crash
        real_settle(self, step, status, detail, **facts)

    monkeypatch.setattr(supplier_workflow.SupplierPass, "settle", settle)
    with pytest.raises(Crash):
        run_pass("supplierMgt")
    monkeypatch.undo()


def test_a_crash_after_the_email_was_sent_never_sends_it_twice(
    harness, tmp_path, smtp, monkeypatch
):
    world = letter(harness, tmp_path)
    run = extract(harness, world)
    die_after(monkeypatch, "router_email")
    assert len(smtp.to(PROVIDER)) == 1

    assert "1 unclear step" in run_pass("supplierMgt")
    assert state(harness, world) is S.FILE_TO_APPROVE
    step = steps(harness)[f"run-{run.id}/router_email"]
    assert step.status is ProviderStepStatus.UNCLEAR
    with harness.runtime.database.session() as session:
        [told] = session.scalars(
            select(Notification).where(Notification.kind == "provider_step_unclear")
        ).all()
        assert told.user_id == world.manager_id
    assert read_in("de", told.body_message) == (
        "der Durchlauf brach während dieses Schritts ab; ob er den Dienstleister erreicht hat, "
        "ist unbekannt. Klären Sie es mit dem Dienstleister und geben Sie dann an, ob es "
        "angekommen ist."
    )
    assert (
        read_in("en", told.body_message)
        == told.body
        == (
            "the pass stopped while doing this step; whether it reached the provider is unknown. "
            "Check with the provider, then say whether it arrived."
        )
    )
    assert "0 unclear steps" in run_pass("supplierMgt")
    assert len(smtp.to(PROVIDER)) == 1

    with harness.runtime.database.session() as session:
        decided = decide_unclear_step(session, step.id, arrived=True, by="manager", now=NOW)
        assert read_in("de", decided).endswith(
            "ist unbekannt; manager hat bestätigt, dass es angekommen ist"
        )
        assert decided.detail.endswith("is unknown; manager confirmed that it arrived")
    run_pass("supplierMgt")
    assert state(harness, world) is S.FINISHED
    assert len(smtp.to(PROVIDER)) == 1


def test_an_unclear_email_a_person_wants_again_is_sent_again_with_its_message_id(
    harness, tmp_path, smtp
):
    world = letter(harness, tmp_path)
    run = extract(harness, world)
    smtp.vanish = {PROVIDER}
    assert "1 unclear step" in run_pass("supplierMgt")
    smtp.vanish = set()
    step = steps(harness)[f"run-{run.id}/router_email"]

    with harness.runtime.database.session() as session:
        decide_unclear_step(session, step.id, arrived=False, by="manager", now=NOW)
    run_pass("supplierMgt")

    first, second = smtp.to(PROVIDER)
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert state(harness, world) is S.FINISHED
    assert len(provider_files(world)) == 2  # the file was uploaded once


def test_a_crash_after_the_upload_does_not_upload_twice(harness, tmp_path, smtp, monkeypatch):
    world = letter(harness, tmp_path)
    run = extract(harness, world)
    die_after(monkeypatch, "upload")

    run_pass("supplierMgt")

    assert state(harness, world) is S.FINISHED
    with harness.runtime.database.session() as session:
        [record] = session.scalars(select(FileDelivery)).all()
    assert record.key == f"delivery-{world.delivery_id}/run-{run.id}"
    name = "Infobrief-Fruehjahrsbrief-20260302.csv"
    assert provider_files(world) == [name, name + ".manifest.json"]  # a second would be refused
    assert len(smtp.to(PROVIDER)) == 1
    assert steps(harness)[f"run-{run.id}/upload"].status is ProviderStepStatus.DONE


def test_a_refused_email_is_tried_again_in_the_next_pass(harness, tmp_path, smtp):
    world = letter(harness, tmp_path)
    run = extract(harness, world)
    smtp.refuse = {PROVIDER}

    summary = run_pass("supplierMgt")

    assert summary.endswith("; 1 problem (see the log)")
    german = detail_in("de", summary, WORKFLOW_TRANSLATIONS)
    assert german.endswith("0 unklare Schritte; 1 Problem (siehe Protokoll)")
    assert state(harness, world) is S.FILE_TO_APPROVE
    assert steps(harness)[f"run-{run.id}/router_email"].status is ProviderStepStatus.FAILED
    smtp.refuse = set()
    run_pass("supplierMgt")
    assert state(harness, world) is S.FINISHED
    assert len(smtp.to(PROVIDER)) == 1
    assert steps(harness)[f"run-{run.id}/router_email"].attempts == 2


def test_the_file_reaches_an_sftp_server(harness, tmp_path, smtp):
    world = letter(harness, tmp_path)
    root = tmp_path / "sftp"
    (root / "eingang").mkdir(parents=True)
    server = SftpTestServer(root, {"druckerei": "Geheim-123"})
    try:
        with harness.runtime.database.session() as session:
            process = session.scalar(select(ServiceProcess))
            process.upload_target = "sftp"
            process.upload_settings = {
                "host": "127.0.0.1",
                "port": server.port,
                "username": "druckerei",
                "password": "Geheim-123",
                "directory": "eingang",
                "host_key_fingerprint": server.fingerprint,
            }
        extract(harness, world)
        run_pass("supplierMgt")
        files = server.files()
    finally:
        server.close()
    name = "eingang/Infobrief-Fruehjahrsbrief-20260302.csv"
    assert sorted(files) == [name, name + ".manifest.json"]
    assert len(read_csv(files[name])) == 5
    assert state(harness, world) is S.FINISHED


def test_the_proof_goes_to_its_reviewers_and_a_rejected_one_waits_for_a_change(
    harness, tmp_path, smtp
):
    world = letter(harness, tmp_path, proof_required=True)
    extract(harness, world)
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        configure(session, delivery, STEP.PROOF, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
    run_pass("deliveryMgt")  # the file is approved: on to the proof
    assert state(harness, world) is S.PROOF_TO_SUBMIT

    assert "1 proof submitted" in run_pass("supplierMgt")
    assert state(harness, world) is S.PROOF_TO_VALIDATE
    [proof] = smtp.to("reviewer@example.de")
    assert proof.message["Subject"] == "[Proof] Druckauftrag Infobrief: 4 Briefe"
    assert smtp.to(PROVIDER) == []

    reviewer_answer(harness, world, approved=False)
    run_pass("deliveryMgt")
    assert state(harness, world) is S.PROOF_TO_SUBMIT
    assert "0 proofs submitted" in run_pass("supplierMgt")  # the same text again: no

    harness.runtime.clock.advance(timedelta(minutes=30))
    with harness.runtime.database.session() as session:
        session.scalar(
            select(ServiceProcess)
        ).notification_subject = "Druckauftrag {{ campaign }} ({{ delivery }}): {{ count }} Briefe"
    assert "1 proof submitted" in run_pass("supplierMgt")
    second = smtp.to("reviewer@example.de")[-1]
    assert second.message["Subject"] == (
        "[Proof] Druckauftrag Infobrief (Frühjahrsbrief): 4 Briefe"
    )
    reviewer_answer(harness, world, approved=True)
    run_pass("supplierMgt")
    assert state(harness, world) is S.FINISHED
    assert len(smtp.to(PROVIDER)) == 1


def test_a_proof_nobody_can_receive_waits_for_a_reviewers_address(harness, tmp_path, smtp):
    world = letter(harness, tmp_path, proof_required=True)
    extract(harness, world)
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        configure(session, delivery, STEP.PROOF, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
        session.get(User, world.reviewer_id).email = None
    run_pass("deliveryMgt")

    assert "0 proofs submitted" in run_pass("supplierMgt")
    assert state(harness, world) is S.PROOF_TO_SUBMIT  # no proof to approve blind
    with harness.runtime.database.session() as session:
        log = session.scalars(select(WorkflowRun.log).order_by(WorkflowRun.id.desc())).first()
        assert "no reviewer of its proof has an e-mail address to receive it" in " ".join(log)
        assert approval_for(session, world.delivery_id, STEP.PROOF).submitted_at is None
        session.get(User, world.reviewer_id).email = "reviewer@example.de"
    assert "1 proof submitted" in run_pass("supplierMgt")
    assert state(harness, world) is S.PROOF_TO_VALIDATE
    assert len(smtp.to("reviewer@example.de")) == 1


def test_a_block_set_after_the_proof_extracts_the_letter_again_before_the_provider(
    harness, tmp_path, smtp
):
    """The proof went to the reviewers, then a contact was blocked: the approved proof's file
    never reaches the provider; the new file, without them, is proofed again."""
    world = letter(harness, tmp_path, proof_required=True)
    letters_to_contacts(harness, world)
    run = extract(harness, world)
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        configure(session, delivery, STEP.PROOF, ApprovalMode.MANUAL, NOW,
                  Reviewers.of(users=[world.reviewer_id]))  # fmt: skip
    run_pass("deliveryMgt")
    assert "1 proof submitted" in run_pass("supplierMgt")
    with harness.runtime.database.session() as session:
        session.get(Contact, harness.items(run.id)[0].entity_id).dispatch_block = True
    reviewer_answer(harness, world, approved=True)

    assert "1 extracted again (refused since the extraction)" in run_pass("supplierMgt")
    assert state(harness, world) is S.EXTRACTION_PENDING
    assert not world.provider_dir.exists() and smtp.to(PROVIDER) == []

    again = extract(harness, world)
    run_pass("deliveryMgt")
    assert "1 proof submitted" in run_pass("supplierMgt")
    assert state(harness, world) is S.PROOF_TO_VALIDATE and smtp.to(PROVIDER) == []
    reviewer_answer(harness, world, approved=True)
    assert "1 file sent" in run_pass("supplierMgt")
    [name] = [name for name in provider_files(world) if name.endswith(".csv")]
    assert len(read_csv((world.provider_dir / name).read_bytes())) == 1 + 3
    assert harness.run(again.id).skipped == 1


def reviewer_answer(harness, world: Letter, approved: bool) -> None:
    with harness.runtime.database.session() as session:
        approval = session.scalar(select(Approval).where(Approval.step == STEP.PROOF))
        reviewer = session.get(User, world.reviewer_id)
        now = harness.runtime.clock.now()
        if approved:
            approve(session, approval.id, reviewer, now)
        else:
            reject(session, approval.id, reviewer, now, "Betreff nennt den Brief nicht")


def test_a_mistake_in_the_process_is_named_and_the_letter_waits(harness, tmp_path, smtp):
    world = letter(harness, tmp_path)
    with harness.runtime.database.session() as session:
        process = session.scalar(select(ServiceProcess))
        process.export_columns = [*COLUMNS, {"header": "Spitzname", "field": "nickname"}]
    extract(harness, world)

    run_pass("supplierMgt")

    with harness.runtime.database.session() as session:
        [log] = session.scalars(select(WorkflowRun.log)).all()
    [problem] = log
    assert problem.startswith(
        f"delivery {world.delivery_id}: export_columns[3].field: unknown field 'nickname' "
        "on contacts; known: id, number,"
    )
    assert state(harness, world) is S.FILE_TO_APPROVE
    assert not world.provider_dir.exists()


def test_a_process_that_cannot_reach_the_provider_is_named_in_the_readers_language(
    harness, tmp_path, smtp
):
    world = letter(harness, tmp_path)
    with harness.runtime.database.session() as session:
        process = session.scalar(select(ServiceProcess))
        process.upload_target, process.notification_recipients = None, []
        process.result_format = RESULT_FORMAT | {"inbox": str(tmp_path / "fehlt")}
    extract(harness, world)

    run_pass("supplierMgt")

    with harness.runtime.database.session() as session:
        [messages] = session.scalars(select(WorkflowRun.log_messages)).all()
    assert [read_in("de", message) for message in messages] == [
        f"Versand {world.delivery_id}: die Leistung „Brief A4“ hat weder ein Übertragungsziel "
        "noch eine Adresse für die E-Mail: die Datei kann den Dienstleister nicht erreichen",
        f"Ergebnisdateien der Leistung {world.service_id}: Eingangsverzeichnis der "
        f"Ergebnisdateien: {tmp_path / 'fehlt'} ist kein Verzeichnis",
    ]
    assert state(harness, world) is S.FILE_TO_APPROVE


def test_a_mail_server_refusal_is_logged_in_the_readers_language(harness, tmp_path, smtp):
    """The mail server's refusal is another module's English: the log line translates it
    part by part, the server's own answer stays as it wrote it."""
    world = letter(harness, tmp_path)
    extract(harness, world)
    smtp.refuse = {PROVIDER}

    run_pass("supplierMgt")

    with harness.runtime.database.session() as session:
        [messages] = session.scalars(select(WorkflowRun.log_messages)).all()
    assert read_in("de", messages[-1]).endswith(
        ": Benachrichtigung an den Router: der Mailserver hat den Empfänger "
        f"„{PROVIDER}“ abgelehnt: 550 5.1.1 <{PROVIDER}>: no such mailbox"
    )


def test_a_letter_without_a_provider_process_is_released(harness, tmp_path, smtp):
    world = letter(harness, tmp_path, process=False)
    extract(harness, world)

    assert "1 released without a provider" in run_pass("supplierMgt")

    assert state(harness, world) is S.FINISHED
    assert smtp.messages == []


def test_a_letter_goes_through_all_three_workflows(harness, tmp_path, smtp):
    world = letter(harness, tmp_path)
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        delivery.planned_start_at = None
        delivery.move_to(S.APPROVED, NOW)

    run_pass("deliveryMgt")  # approved and due: to extraction
    run_pass("operationMgt")  # the extraction run
    harness.work()
    run_pass("operationMgt")  # the file to approve
    assert state(harness, world) is S.FILE_TO_APPROVE
    run_pass("supplierMgt")  # nobody saw its count yet: nothing leaves
    assert state(harness, world) is S.FILE_TO_APPROVE and smtp.to(PROVIDER) == []
    with harness.runtime.database.session() as session:  # the manager decides
        approval = session.scalar(select(Approval).where(Approval.step == STEP.EXTRACTION))
        assert approval.mode is ApprovalMode.MANUAL
        approve(session, approval.id, session.get(User, world.manager_id), NOW)
    run_pass("supplierMgt")

    assert state(harness, world) is S.FINISHED
    assert len(smtp.to(PROVIDER)) == 1
    with harness.runtime.database.session() as session:
        assert session.scalar(select(Run.done)) == 4


def test_the_workflow_is_registered_with_its_documented_name_title_and_interval(harness):
    workflow = harness.runtime.plugins.workflows.get("supplierMgt")
    assert (workflow.title, workflow.default_interval) == (
        "Jobs on service providers",
        timedelta(minutes=15),
    )
