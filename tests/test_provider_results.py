"""Importing a provider's result file as the panel does (``import_result_file`` with the
delivery), on SQLite and PostgreSQL: every problem named with its line, nothing half-written,
the same file twice changes nothing, a second different file is refused."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import test_workflows_supplier as supplier_tests
from sqlalchemy import select

from core.audit import audit_query
from core.models import ItemStatus, RunItem
from plugins.processes import TRANSLATIONS
from plugins.processes.models import Delivery, DeliveryState, SentCounting, ServiceProcess
from plugins.processes.provider_processes import ResultFormat
from plugins.processes.provider_results import (
    ResultFileError,
    import_result_file,
    parse_amount,
    read_result_file,
)
from webapp.accounts import set_password
from webapp.i18n import render_stored
from webapp.testing import csrf_token, login

from panel_helpers import PASSWORD, body, shown_details
from process_helpers import every_row, run_pass

settings = supplier_tests.settings
harness = supplier_tests.harness
FORMAT = ResultFormat.of(supplier_tests.RESULT_FORMAT)


def sent_letter(harness, tmp_path):
    world = supplier_tests.letter(harness, tmp_path, sent_counting=SentCounting.RESULT_FILE)
    run = supplier_tests.extract(harness, world)
    run_pass("supplierMgt")
    references = [f"{world.delivery_id}-{item.id}" for item in harness.items(run.id)]
    return world, run, references


def result(*lines: str) -> bytes:
    return ("Referenz;Status;Grund;Porto\n" + "\n".join(lines) + "\n").encode()


def test_the_panel_imports_a_result_file_for_its_delivery(harness, tmp_path, smtp):
    world, run, refs = sent_letter(harness, tmp_path)
    data = result(
        f"{refs[0]};versendet;;0,85",
        f"{refs[1]};unzustellbar;verzogen;",
        f"{refs[2]};VERSENDET ;;1.234,50",
    )

    imported = import_result_file(
        harness.runtime, data, "rueckmeldung.csv", delivery_id=world.delivery_id, by="manager"
    )

    assert imported.summary().english() == (
        "rueckmeldung.csv: 2 sent, 1 failed, 1 not reported (it counts as sent), real cost 1235.35"
    )
    statuses = [item.status for item in harness.items(run.id)]
    assert statuses == [ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.DONE, ItemStatus.DONE]
    with harness.runtime.database.session() as session:
        delivery = session.get(Delivery, world.delivery_id)
        assert (delivery.state, delivery.real_cost) == (DeliveryState.FINISHED, Decimal("1235.35"))
    before = every_row(harness.runtime.database)

    again = import_result_file(
        harness.runtime, data, "rueckmeldung.csv", delivery_id=world.delivery_id
    )
    assert again.repeated
    assert again.summary().english() == "rueckmeldung.csv was imported before; nothing changed"
    assert every_row(harness.runtime.database) == before

    with pytest.raises(ResultFileError) as refused:
        import_result_file(
            harness.runtime, result(f"{refs[0]};versendet;;0,85"), "zweite.csv",
            delivery_id=world.delivery_id,
        )  # fmt: skip
    assert str(refused.value).startswith(
        f"zweite.csv: delivery {world.delivery_id} has its result already: "
        "rueckmeldung.csv, imported "
    )
    assert every_row(harness.runtime.database) == before


def test_a_failed_letter_reported_sent_later_counts_as_sent(harness, tmp_path, smtp, panel_app):
    world, run, refs = sent_letter(harness, tmp_path)
    with harness.runtime.database.session() as session:
        item = session.get(RunItem, harness.items(run.id)[0].id)
        item.status = ItemStatus.FAILED
    import_result_file(
        harness.runtime, result(f"{refs[0]};versendet;;"), "r.csv", delivery_id=world.delivery_id
    )
    assert harness.items(run.id)[0].status is ItemStatus.DONE
    assert harness.items(run.id)[0].detail == "provider: sent"
    assert harness.run(run.id).done == 4
    details = ["provider: sent", "provider: Unzustellbar: Adresse unbekannt"]
    assert shown_details(panel_app, "de", details) == [
        "Dienstleister: versendet",
        "Dienstleister: Unzustellbar: Adresse unbekannt",
    ]
    assert shown_details(panel_app, "en", details) == details


def test_a_manager_uploads_the_result_file_on_the_deliverys_page(
    harness, tmp_path, smtp, panel_app
):
    world, run, refs = sent_letter(harness, tmp_path)
    with harness.runtime.database.session() as session:
        set_password(session, "manager", PASSWORD)
    client = panel_app.test_client()
    assert login(client, "manager", PASSWORD).status_code == 302
    page = f"/deliveries/{world.delivery_id}"
    upload = f"{page}/result-file"

    def send(data: bytes, name: str = "rueckmeldung.csv") -> str:
        form = {"csrf_token": csrf_token(client, page), "file": (io.BytesIO(data), name)}
        response = client.post(upload, data=form, content_type="multipart/form-data")
        assert response.status_code == 302
        return body(client.get(page))

    assert 'id="result-heading"' in body(client.get(page))
    before = every_row(harness.runtime.database)
    client.post(upload, data={"csrf_token": csrf_token(client, page)})
    assert "Bitte wählen Sie die Ergebnisdatei aus." in body(client.get(page))
    refused = send(b"Referenz;Status;Grund;Porto\n" + f"{refs[0]};weg;;\n".encode())
    assert (
        "Ergebnisdatei nicht eingelesen, nichts wurde geändert: rueckmeldung.csv: Zeile 2: "
        "Status „weg“ ist weder versendet" in refused
    )
    refused = send(b"Referenz;Status;Grund;Porto\n1-1;vers\0endet;;\n")
    assert "rueckmeldung.csv: Zeile 2 enthält ein NUL-Zeichen" in refused
    assert every_row(harness.runtime.database) == before

    done = send(result(f"{refs[0]};versendet;;0,85", f"{refs[1]};unzustellbar;verzogen;"))
    assert "rueckmeldung.csv: 1 versendet, 1 fehlgeschlagen, 2 nicht gemeldet" in done
    assert 'id="result-heading"' not in done  # the result is in; a second file is refused
    assert [item.status for item in harness.items(run.id)][:2] == [
        ItemStatus.DONE,
        ItemStatus.FAILED,
    ]
    with harness.runtime.database.session() as session:
        assert session.get(Delivery, world.delivery_id).state is DeliveryState.FINISHED
        assert [e.action for e in session.scalars(audit_query())] == ["delivery.result_file"]


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (["{other}-1;versendet;;"], "the references are of delivery {other}, not of delivery"),
        (["{d}-999999;versendet;;"], "line 2: reference {d}-999999 is not a letter of Infobrief"),
    ],
)
def test_references_of_another_delivery_or_letter_are_refused(
    harness, tmp_path, smtp, lines, problem
):
    world, _, _ = sent_letter(harness, tmp_path)
    values = {"d": world.delivery_id, "other": world.delivery_id + 1}
    before = every_row(harness.runtime.database)
    with pytest.raises(ResultFileError) as refused:
        import_result_file(
            harness.runtime,
            result(*(line.format(**values) for line in lines)),
            "r.csv",
            delivery_id=world.delivery_id,
        )
    assert problem.format(**values) in str(refused.value)
    assert every_row(harness.runtime.database) == before


def test_a_delivery_whose_file_was_not_sent_takes_no_result(harness, tmp_path, smtp):
    world = supplier_tests.letter(harness, tmp_path, sent_counting=SentCounting.RESULT_FILE)
    with pytest.raises(ResultFileError) as refused:
        import_result_file(
            harness.runtime, result("1-1;versendet;;"), "r.csv", delivery_id=world.delivery_id
        )
    assert str(refused.value) == (
        f"r.csv: delivery {world.delivery_id} 'Frühjahrsbrief' is being edited; results are "
        "read once its file was sent"
    )
    assert read_in("de", refused.value) == (
        f"r.csv: Versand {world.delivery_id} „Frühjahrsbrief“: Ergebnisse werden eingelesen, "
        "sobald seine Datei versendet ist (Zustand: In Bearbeitung)"
    )


def test_a_service_without_a_result_format_is_named(harness, tmp_path, smtp):
    world = supplier_tests.letter(harness, tmp_path)
    with harness.runtime.database.session() as session:
        session.scalar(select(ServiceProcess)).result_format = None
    with pytest.raises(ResultFileError) as refused:
        import_result_file(harness.runtime, b"", "r.csv", delivery_id=world.delivery_id)
    assert str(refused.value) == "r.csv: result_format: the service has no result file format"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "line 1: no column 'Referenz', 'Status', 'Grund', 'Porto' (the file has no header)"),
        (b"Referenz;Status\n1-2;versendet\n", "line 1: no column 'Grund', 'Porto'"),
        (b"Referenz;Status;Grund;Porto\n", "the file reports no letter"),
        (b"Referenz;Status;Grund;Porto\n1-2;weg;;\n", "line 2: Status 'weg' is neither sent"),
        (b"Referenz;Status;Grund;Porto\n1-2;versendet;;1,2,3\n", "line 2: Porto '1,2,3' is not"),
        ("Referenz;Status;Grund;Porto\n1-2;Zugestellt ä;;\n".encode("cp1252"), "not utf-8 text"),
        (b"Referenz;Status;Grund;Porto\n1-2;ver\0sendet;;\n", "line 2 holds a NUL character"),
        (
            b"Referenz;Status;Grund;Porto\n1-2;versendet;" + b"x" * 200_000 + b";\n",
            "line 2 cannot be read as CSV: it holds a field longer than 128 KB",
        ),
    ],
)
def test_every_problem_of_a_file_is_named_with_its_line(data, problem):
    with pytest.raises(ResultFileError) as refused:
        read_result_file(data, FORMAT, "r.csv")
    assert problem in str(refused.value)


def test_blank_lines_a_bom_and_short_rows_are_read():
    rows = read_result_file(
        "\ufeffReferenz;Status;Grund;Porto\r\n\r\n3-7;Versendet\r\n".encode(), FORMAT, "r.csv"
    )
    assert [(row.line, row.delivery_id, row.item_id, row.sent, row.cost) for row in rows] == [
        (3, 3, 7, True, None)
    ]


def test_more_than_ten_problems_are_summed_up():
    data = b"Referenz;Status;Grund;Porto\n" + b"x;versendet;;\n" * 12
    with pytest.raises(ResultFileError) as refused:
        read_result_file(data, FORMAT, "r.csv")
    assert len(refused.value.problems) == 12
    assert str(refused.value).endswith("; and 2 more")
    assert read_in("en", refused.value) == str(refused.value)
    german = read_in("de", refused.value)
    assert german.startswith(
        "r.csv: Zeile 2: Referenz „x“ ist keine Referenz wie „12-3456“ (die Referenzspalte der "
        "Extraktionsdatei); Zeile 3: Referenz „x“"
    )
    assert german.endswith("; und 2 weitere")


def read_in(language: str, refused: ResultFileError) -> str:
    """A refused file's problems as the workflow's log shows them in ``language``."""
    return render_stored(refused.text, language, {"plugins.processes": [TRANSLATIONS]})


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("", None),
        ("0,85", Decimal("0.85")),
        ("1.234,50", Decimal("1234.50")),
        ("0.85", Decimal("0.85")),
    ],
)
def test_amounts_are_read_in_german_and_plain_notation(text, amount):
    assert parse_amount(text) == amount
