"""The one template sandbox: HTML templates for reports and e-mail bodies, text templates for
SMS, e-mail subjects and plain-text bodies."""

import time
import tracemalloc
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from markupsafe import Markup

from core.documents import templating
from core.documents.templating import (
    TemplateError,
    TemplateLimitError,
    UnknownPlaceholderError,
    compile_template,
    nest,
)
from webapp.i18n import render_stored

STOPPED_LONG_BEFORE_THE_END = 30
"""Seconds: a deadline for renders that would run for hours unstopped, not a speed goal."""


def render(source: str, **data) -> str:
    return str(compile_template(source).render(data))


# --- HTML templates (reports, e-mail bodies) ---------------------------------------------


def test_placeholders_are_escaped_and_the_filters_speak_german():
    out = render(
        "{{ name }} | {{ day|date }} | {{ day|date('long') }} | {{ amount|money }} | "
        "{{ 1234567|number }} | {{ 'at'|country_name|upper }} | {{ when|date }}",
        name="<b>Müller & Söhne</b>",
        day=date(2026, 3, 12),
        amount=Decimal("1234.5"),
        when=datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    )
    assert out == (
        "&lt;b&gt;Müller &amp; Söhne&lt;/b&gt; | 12.03.2026 | 12. März 2026 | 1.234,50 € | "
        "1.234.567 | ÖSTERREICH | 01.01.2027"
    )


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ self._TemplateReference__context }}",
        "{% set items = [] %}{{ items.append(1) }}",
        "{% set d = {} %}{{ d.update(a=1) }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ '%s' % 'x' }}",
        "{{ 'a'.ljust(99) }}",
    ],
)
def test_the_sandbox_refuses_the_known_payloads(source):
    with pytest.raises(TemplateError):
        render(source)


def test_repetition_is_refused_before_the_value_exists():
    tracemalloc.start()
    try:
        with pytest.raises(TemplateLimitError, match="100000000 characters"):
            render("{{ 'a' * 10**8 }}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


@pytest.mark.parametrize(
    "source",
    [
        "{{ 2 ** 100000 }}",
        "{{ [0] * 10**7 }}",
        "{% set s = 'a' * 900000 %}{{ s ~ s }}",
        "{% set s = 'a' * 900000 %}{{ s + s }}",
        "{% set s = 'a' * 900000 %}{{ [s, s]|join }}",
        "{% set s = 'a' * 2000 %}{{ s|replace('a', s) }}",
        "{{ [[0] * 1000] * 1000|sum(start=[]) }}",
        "{% set s = 'a' * 100000 %}{% set t %}{% for i in range(100) %}{{ s }}{% endfor %}"
        "{% endset %}{{ t|length }}",
        "{% for i in range(100000) %}{{ 'abcdefghijk' }}{% endfor %}",
    ],
)
def test_every_way_to_build_a_huge_value_is_capped(source):
    with pytest.raises(TemplateLimitError):
        render(source)


def test_filters_that_only_grow_text_are_not_there():
    with pytest.raises(TemplateError, match="line 2: syntax error: no filter 'center'"):
        compile_template("ok\n{{ 'a'|center(10**9) }}")


def test_a_loop_over_a_billion_items_never_starts():
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="MAX_RANGE"):
        render("{% for i in range(10**9) %}{{ i }}{% endfor %}")
    assert time.perf_counter() - started < STOPPED_LONG_BEFORE_THE_END


@pytest.mark.parametrize(
    "source",
    [
        # no call, attribute or output inside: only the loop guard sees these iterations
        "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
    ],
)
def test_a_render_that_runs_on_is_stopped_at_its_deadline(monkeypatch, source):
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.3)
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match=r"longer than 0\.3 seconds"):
        render(source)
    assert time.perf_counter() - started < STOPPED_LONG_BEFORE_THE_END


def test_template_size_is_limited():
    with pytest.raises(TemplateLimitError, match="characters"):
        compile_template("x" * (templating.MAX_TEMPLATE_CHARS + 1))


def test_an_unknown_placeholder_is_named_with_its_line():
    template = compile_template("Hallo\n{{ contact.first_name }}\n{{ contact.nickname }}")
    with pytest.raises(UnknownPlaceholderError) as raised:
        template.render({"contact": {"first_name": "Anna"}})
    assert str(raised.value) == (
        "line 3: unknown placeholder 'nickname': dict object has no such field"
    )
    with pytest.raises(UnknownPlaceholderError, match="line 1: unknown placeholder 'missing'"):
        render("{% if missing %}x{% endif %}")


def test_a_syntax_error_is_reported_with_its_line_when_compiled():
    with pytest.raises(TemplateError) as raised:
        compile_template("<p>\n{{ name }}\n{% if x %}\n</p>")
    assert raised.value.lineno == 4
    assert str(raised.value) == "line 4: syntax error: 'if' is not closed (endif missing)"


@pytest.mark.parametrize(
    ("source", "german"),
    [
        ("{{ name }", "unerwartet: „}“"),
        ("{% if x %}a", "„if“ wird nicht geschlossen (endif fehlt)"),
        ("{% endif %}", "unbekanntes oder falsch platziertes Tag „endif“"),
        ("{{ }}", "Ausdruck erwartet, gefunden: „}}“"),
        ("{{ (a ] }}", "„)“ erwartet, gefunden: „]“"),
        ("{{ a.1x }}", "„}}“ erwartet, gefunden: „x“"),
        ("{{ a $ b }}", "unerwartetes Zeichen „$“"),
        ("{{ a", "„}}“ fehlt"),
        ("{{ x|weg }}", "unbekannter Filter „weg“"),
        ("{% set 1 = 2 %}", "can't assign to 'const'"),
    ],
)
def test_a_syntax_error_reads_in_german_with_the_characters_a_writer_types(source, german):
    """Jinja's common syntax errors have German words; its names of delimiters become the
    delimiters; a rare one keeps Jinja's English after the German "Syntaxfehler"."""
    with pytest.raises(TemplateError) as raised:
        compile_template(source)
    assert render_stored(raised.value.text, "de", {}) == f"Zeile 1: Syntaxfehler: {german}"


def test_a_template_is_compiled_once():
    source = "{{ x }} once"
    assert compile_template(source) is compile_template(source)


def test_only_plain_data_reaches_a_template():
    with pytest.raises(TypeError, match=r"data\.row: object is not plain data"):
        compile_template("{{ row }}").render({"row": object()})


def test_the_fields_a_template_reads_from_a_variable():
    template = compile_template("{{ text.greeting }} {{ text['closing'] }} {{ other.x }}")
    assert template.fields_of("text") == {"greeting", "closing"}
    assert compile_template("{% for t in text %}{{ t }}{% endfor %}").fields_of("text") is None


# --- text templates (SMS, e-mail subjects and text bodies) ----------------------------------


def text(source: str, **limits) -> templating.CompiledTemplate:
    return compile_template(source, html=False, **limits)


def test_text_templates_do_not_escape_and_html_templates_do():
    data = {"name": "Müller & <Söhne>"}
    plain = text("Hallo {{ name }}").render(data)
    assert plain == "Hallo Müller & <Söhne>"
    assert not isinstance(plain, Markup)
    html = compile_template("Hallo {{ name }}").render(data)
    assert html == Markup("Hallo Müller &amp; &lt;Söhne&gt;")


def test_templates_fill_placeholders_from_nested_records():
    record = nest({"first_name": "Erika", "contact.first_name": "Max", "contact.city": "Köln"})
    rendered = text("{{ first_name }}/{{ contact.first_name }}/{{ contact.city }}").render(record)
    assert rendered == "Erika/Max/Köln"
    assert text("{{ name|default('Kunde') }}").render({}) == "Kunde"


def test_an_unknown_placeholder_is_named_in_a_text_template():
    with pytest.raises(UnknownPlaceholderError, match="line 2: unknown placeholder 'frist_name'"):
        text("Hallo\n{{ frist_name }}").render({"first_name": "Erika"})


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ 'a' * 10**8 }}", r"a value of 100000000 characters or items \(at most 1000\)"),
        ("{{ 2 ** 100000 }}", "a number of more than 4096 bits"),
        ("{{ '%0999999d' % 1 }}", "formatting of text is not available"),
        ("{{ '{:>99999999}'.format(1) }}", "str.format is not available"),
        ("{% for i in range(10**7) %}{% endfor %}", "MAX_RANGE"),
        ("{{ lipsum(1000) }}", "unknown placeholder 'lipsum'"),
        ("{% for i in range(1000) %}{{ 'long text ' }}{% endfor %}", "longer than 1000 characters"),
        (
            "{% for a in range(999) %}{% for b in range(999) %}{% set c = a * b %}"
            "{% endfor %}{% endfor %}",
            r"rendering took longer than 0\.2 seconds",
        ),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError"),
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{{ x.append(1) }}", "unsafe"),
    ],
)
def test_text_templates_that_would_exhaust_the_worker_are_stopped(monkeypatch, source, reason):
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.2)
    template = text(source, max_output=1000)
    with pytest.raises(TemplateError, match=reason):
        template.render({"x": []})


def test_nested_empty_loops_over_a_stored_range_stop_at_the_deadline(monkeypatch):
    """No call, attribute, operator or output inside: only the loop guard sees these."""
    monkeypatch.setattr(templating, "RENDER_SECONDS", 0.3)
    template = text(
        "{% set r = range(100000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}",
        max_output=1530,
    )
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match=r"longer than 0\.3 seconds"):
        template.render({})
    assert time.perf_counter() - started < STOPPED_LONG_BEFORE_THE_END


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x" * 2001, r"the template has 2001 characters \(at most 2000\)"),
        ("{{ first_name }", "line 1: syntax error: unexpected '}'"),
        ("ok\n{{ 'x'|center(1000000000) }}", "line 2: syntax error: no filter 'center'"),
    ],
)
def test_text_templates_are_refused_when_compiled(source, reason):
    with pytest.raises(TemplateError, match=reason):
        text(source, max_source=2000)


def test_a_refusal_keeps_its_reason_as_a_stored_text_for_the_readers_language():
    with pytest.raises(TemplateLimitError) as refused:
        text("Hallo\n{{ ''.__class__ }}").render({})
    error = refused.value
    assert str(error) == "line 2: access to attribute '__class__' of 'str' object is unsafe."
    assert error.text.english() == str(error), "the panel's text, the English of the API"
    assert (error.lineno, error.reason.params) == (2, {"name": "__class__", "owner": "str"})


def test_an_empty_field_prints_nothing():
    assert text("Hallo {{ first_name }}!").render({"first_name": None}) == "Hallo !"
    assert text("{{ first_name or 'Kunde' }}").render({"first_name": None}) == "Kunde"
    assert compile_template("<b>{{ title }}</b>").render({"title": None}) == "<b></b>"
