"""Why a text is not JSON, in the reader's language: every message of json's decoder that a
typing mistake brings has a German text, the place reads as German writes it, and the
English stays Python's own."""

from __future__ import annotations

import json

import pytest

from core import json_text
from webapp.i18n import render_stored

MISTAKES = [
    ("", "Wert erwartet (Zeile 1, Spalte 1)"),
    ('{"a": 1 "b": 2}', "Komma erwartet (Zeile 1, Spalte 9)"),
    ('{"a" 1}', "Doppelpunkt erwartet (Zeile 1, Spalte 6)"),
    ("{'a': 1}", "Schlüssel in doppelten Anführungszeichen erwartet (Zeile 1, Spalte 2)"),
    (
        '[\n  "offen\n]',
        "unzulässiges Steuerzeichen (etwa ein Zeilenumbruch) in einer Zeichenkette "
        "(Zeile 2, Spalte 9)",
    ),
    (
        '["offen',
        "Zeichenkette ohne schließendes Anführungszeichen, die hier beginnt (Zeile 1, Spalte 2)",
    ),
    ('"C:\\daten"', "ungültige Escape-Sequenz mit \\ (Zeile 1, Spalte 4)"),
    ('"\\u12"', "ungültige Escape-Sequenz \\uXXXX (Zeile 1, Spalte 3)"),
    ("{} {}", "weitere Zeichen nach dem Ende der JSON-Daten (Zeile 1, Spalte 4)"),
    ("\ufeff{}", "unerwartetes UTF-8-BOM am Anfang des Textes (Zeile 1, Spalte 1)"),
]


@pytest.mark.parametrize(("text", "german"), MISTAKES)
def test_a_decoder_message_is_said_in_german_and_stays_pythons_in_english(text, german):
    with pytest.raises(json.JSONDecodeError) as refused:
        json_text.loads(text)
    problem = json_text.problem(refused.value)
    assert render_stored(problem, "de", {}) == german
    assert problem.english() == str(refused.value)
    assert render_stored(problem, "en", {}) == str(refused.value)


def test_text_too_deep_and_bytes_that_are_no_text_are_explained_too():
    with pytest.raises(ValueError) as deep:
        json_text.loads("[" * 40 + "]" * 40)
    assert render_stored(json_text.problem(deep.value), "de", {}) == (
        "tiefer als 32 Ebenen aus Objekten und Listen verschachtelt"
    )
    with pytest.raises(ValueError) as binary:
        json_text.loads(b'{"a": "\xff"}')
    assert render_stored(json_text.problem(binary.value), "de", {}) == (
        "kein Text in UTF-8 (Byte 8)"
    )


def test_half_a_character_is_refused_in_the_readers_language_and_a_pair_is_read():
    assert json_text.loads('["\\ud83d\\ude00", "\\u00e4"]') == ["\U0001f600", "ä"]
    for text in ('{"a": ["\\ud800"]}', '{"\\udfff": 1}', '"\\ude00\\ud83d"'):
        with pytest.raises(json_text.LoneSurrogateError) as refused:
            json_text.loads(text)
        assert isinstance(refused.value, ValueError)  # every caller refuses it as not JSON
        problem = json_text.problem(refused.value)
        assert render_stored(problem, "de", {}) == (
            "ein Escape \\uD800-\\uDFFF, das nur ein halbes Zeichen ist"
        )
        assert render_stored(problem, "en", {}) == str(refused.value)
