"""Reading a provider's service process: export columns, file names, the e-mail to the
provider, the result file format and the reference column it needs. The panel's process form
checks a process before it is stored (tests/test_webapp_providers.py)."""

from datetime import UTC, datetime

import pytest

from core.documents.templating import TemplateError
from core.messages import ExplainedError
from plugins.processes import TRANSLATIONS
from plugins.processes.models import ServiceProcess
from plugins.processes.provider_processes import (
    SAMPLE_MAIL_VALUES,
    ExportColumn,
    ResultFormat,
    check_notification,
    check_reference_column,
    export_columns,
    file_name,
    name_values,
    recipients,
    router_message,
)
from webapp.i18n import render_stored

STARTED = datetime(2026, 3, 2, 8, 5, 9, tzinfo=UTC)
VALUES = name_values("Frühjahr Köln", "Brief 1/2", 12, 3, 77, STARTED)


def read_in(language: str, refused: ExplainedError) -> str:
    """A refusal as the supplier workflow's log shows it in ``language``."""
    return render_stored(refused.text, language, {"plugins.processes": [TRANSLATIONS]})


def process(**fields) -> ServiceProcess:
    defaults = {
        "export_columns": [{"header": "PLZ", "field": "postcode"}, {"field": "@reference"}],
        "file_name_pattern": "{campaign}-{delivery}-{date}.csv",
        "notification_subject": "",
        "notification_template": "",
        "notification_recipients": ["auftrag@druckerei.de"],
        "result_format": None,
    }
    return ServiceProcess(**(defaults | fields))


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("{campaign}-{delivery}-{date}.csv", "Fruehjahr-Koeln-Brief-1-2-20260302.csv"),
        ("D{delivery_id}_R{run}_{run_id}_{date}_{time}.csv", "D12_R3_77_20260302_090509.csv"),
        (
            "auftrag-{day}.{month}.{year}_{hour}{minute}{second}.txt",
            "auftrag-02.03.2026_090509.txt",
        ),
    ],
)
def test_file_names_fill_the_placeholders_with_safe_parts(pattern, name):
    assert file_name(pattern, VALUES) == name


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("{kunde}.csv", "file_name_pattern: unknown placeholder {kunde}; available: campaign,"),
        (
            "{campaign!r}.csv",
            "file_name_pattern: '{campaign!r}' is not a placeholder: write {name}",
        ),
        ("{date:{time}}.csv", "file_name_pattern: '{date:' is not a placeholder"),
        ("{campaign.zzz}.csv", "file_name_pattern: '{campaign.zzz}' is not a placeholder"),
        ("{campaign:>999999999}.csv", "file_name_pattern: '{campaign:>999999999}' is not a"),
        ("{date:%Y%m%d}.csv", "file_name_pattern: '{date:%Y%m%d}' is not a placeholder"),
        ("../{campaign}.csv", "file_name_pattern: '../Fruehjahr-Koeln.csv' is not a usable"),
        ("{campaign.csv", "file_name_pattern: '{campaign.csv' is not a placeholder"),
        ("{campaign}}.csv", "file_name_pattern: '}' is not a placeholder"),
        ("x" * 201, "file_name_pattern: the pattern has 201 characters (at most 200)"),
    ],
)
def test_a_bad_file_name_pattern_is_named(pattern, problem):
    with pytest.raises(ValueError) as error:
        file_name(pattern, VALUES)
    assert str(error.value).startswith(problem)


def test_a_placeholder_fills_in_at_most_60_characters_and_names_at_most_200():
    values = name_values("K" * 500, "Brief", 1, 1, 1, STARTED)
    assert file_name("{campaign}.csv", values) == "K" * 60 + ".csv"
    with pytest.raises(ValueError, match="is not a usable file name"):
        file_name("{campaign}" * 4, values)


def test_export_columns_default_their_header_to_the_field():
    assert export_columns(process()) == [
        ExportColumn("PLZ", "postcode"),
        ExportColumn("@reference", "@reference"),
    ]


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ([], "export_columns: the extraction file needs at least one column"),
        (["postcode"], "export_columns[0]: expected {'header': …, 'field': …}, got 'postcode'"),
        ([{"field": "city", "width": 3}], "export_columns[0]: unknown key(s) width"),
        ([{"field": "city"}, {"header": "PLZ"}], "export_columns[1].field: name a field"),
    ],
)
def test_bad_export_columns_are_named(columns, problem):
    with pytest.raises(ValueError) as error:
        export_columns(process(export_columns=columns))
    assert str(error.value).startswith(problem)


def test_the_provider_is_e_mailed_at_the_process_recipients_or_its_own_address():
    assert recipients(process(), "info@druckerei.de") == ["auftrag@druckerei.de"]
    assert recipients(process(notification_recipients=[]), "info@druckerei.de") == [
        "info@druckerei.de"
    ]
    assert recipients(process(notification_recipients=[]), None) == []
    with pytest.raises(ValueError) as error:
        recipients(process(notification_recipients=["a@b.de", "druckerei"]), None)
    assert str(error.value) == "notification_recipients[1]: 'druckerei' is not an e-mail address"


def test_the_router_message_is_rendered_in_the_sandbox():
    values = {"campaign": "Frühjahr", "delivery": "Brief", "count": 3, "file": "a.csv",
              "location": ""}  # fmt: skip
    subject, text = router_message(process(), values)
    assert subject == "Brief (Frühjahr): 3 letters, a.csv"
    assert text == "The extraction file a.csv of Frühjahr / Brief with 3 letters is attached."
    own = process(notification_subject="Auftrag\n{{ campaign }}", notification_template="{{ n }}")
    with pytest.raises(ValueError) as error:
        router_message(own, values)
    assert str(error.value) == "notification_template: line 1: unknown placeholder 'n'"


def test_a_result_format_is_checked_field_by_field():
    with pytest.raises(ValueError) as error:
        ResultFormat.of({"key_column": "Referenz", "sent_values": [], "delimiter": ";;"})
    assert str(error.value) == (
        "result_format.status_column: Field required; result_format.sent_values: List should "
        "have at least 1 item after validation, not 0; result_format.delimiter: String should "
        "have at most 1 character"
    )
    parsed = ResultFormat.of(
        {"key_column": "Ref", "status_column": "Status", "sent_values": [" Versendet  OK "]}
    )
    assert parsed.sent_values == ["versendet ok"]


def test_a_result_file_needs_the_reference_column_in_the_extraction_file():
    result_format = {"key_column": "Ref", "status_column": "Status", "sent_values": ["ok"]}
    check_reference_column(process(result_format=result_format))
    with pytest.raises(ValueError) as error:
        check_reference_column(
            process(export_columns=[{"field": "postcode"}], result_format=result_format)
        )
    assert str(error.value) == (
        "export_columns: a result file is matched by the letters' references: add a column "
        "{'header': 'Referenz', 'field': '@reference'}"
    )


@pytest.mark.parametrize(
    ("field", "source", "line", "reason"),
    [
        (
            "notification_template",
            "Guten Tag,\n{{ ''.__class__.__mro__ }}",
            2,
            "access to attribute '__class__' of 'str' object is unsafe.",
        ),
        (
            "notification_template",
            "{{ 'a' * 10**8 }}",
            1,
            "a value of 100000000 characters or items (at most 1000000)",
        ),
        ("notification_subject", "Auftrag {{ kunde }}", 1, "unknown placeholder 'kunde'"),
        (
            "notification_subject",
            "{% for i in range(400) %}{{ campaign }}{% endfor %}",
            None,
            "the output is longer than 300 characters",
        ),
        ("notification_template", "\n\n{{ count | weg }}", 3, "syntax error: no filter 'weg'"),
    ],
)
def test_notification_templates_are_test_rendered_in_the_sandbox_when_saved(
    field, source, line, reason
):
    with pytest.raises(TemplateError) as error:
        check_notification(field, source)
    assert (error.value.lineno, error.value.reason.english()) == (line, reason)
    with pytest.raises(ValueError) as refused:
        router_message(process(**{field: source}), SAMPLE_MAIL_VALUES)
    assert str(refused.value) == f"{field}: {error.value}"


MAIL_FIELDS = (
    "campaign",
    "delivery",
    "count",
    "file",
    "planned_start",
    "provider",
    "service",
    "date",
    "location",
)


def test_a_notification_with_every_placeholder_passes_the_check():
    assert list(SAMPLE_MAIL_VALUES) == list(MAIL_FIELDS)
    check_notification(
        "notification_template",
        "{{ campaign }} {{ delivery }} {{ count }} {{ file }} {{ planned_start }} {{ provider }} "
        "{{ service }} {{ date }}{% if location %} {{ location }}{% endif %}",
    )


RESULT_FORMAT = {"key_column": "Ref", "status_column": "Status", "sent_values": ["ok"]}


@pytest.mark.parametrize(
    ("check", "german"),
    [
        (
            lambda: export_columns(process(export_columns=[])),
            "Die Extraktionsdatei braucht mindestens eine Spalte.",
        ),
        (
            lambda: export_columns(process(export_columns=[{"field": "city", "width": 3}])),
            "Spalte 0 der Extraktionsdatei: unbekannte Angabe(n) width",
        ),
        (
            lambda: file_name("{kunde}.csv", VALUES),
            "Dateiname: unbekannter Platzhalter {kunde}; verfügbar sind: campaign,",
        ),
        (
            lambda: recipients(process(notification_recipients=["druckerei"]), None),
            "Empfänger der Benachrichtigung: „druckerei“ ist keine E-Mail-Adresse.",
        ),
        (
            lambda: router_message(process(notification_subject="{{ n }}"), SAMPLE_MAIL_VALUES),
            "Betreff der Benachrichtigung: Zeile 1: unbekannter Platzhalter „n“",
        ),
        (
            lambda: router_message(process(notification_template="\n{{ n }}"), SAMPLE_MAIL_VALUES),
            "Text der Benachrichtigung: Zeile 2: unbekannter Platzhalter „n“",
        ),
        (
            lambda: ResultFormat.of(None),
            "Ergebnisdatei: Die Dienstleistung hat kein Format für Ergebnisdateien.",
        ),
        (
            lambda: ResultFormat.of({"key_column": "Ref", "sent_values": [], "delimiter": ";;"}),
            "result_format.status_column: Bitte ausfüllen.; result_format.sent_values: "
            "Mindestens 1 Eintrag.; result_format.delimiter: Höchstens 1 Zeichen.",
        ),
        (
            lambda: check_reference_column(
                process(export_columns=[{"field": "postcode"}], result_format=RESULT_FORMAT)
            ),
            "Extraktionsdatei: Die Ergebnisdatei ordnet die Briefe über ihre Referenz zu; fügen "
            "Sie eine Spalte {'header': 'Referenz', 'field': '@reference'} hinzu.",
        ),
    ],
)
def test_a_process_the_workflow_cannot_use_is_named_in_german(check, german):
    with pytest.raises(ExplainedError) as refused:
        check()
    assert read_in("de", refused.value).startswith(german)
