"""A letter's tree from its learned skeleton is html5lib's own tree of the letter, in the
corners of HTML parsing too, and learning never hands out a wrong tree."""

import io

import pytest
from xhtml2pdf import pisa

from plugins.actions.html_skeletons import (
    KEPT_SKELETONS,
    LearnedSkeleton,
    SkeletonParser,
    parse_plainly,
    parsing,
    skeleton_of,
)

NAMES = ["Jürgen Größer-Müßig", "Ann Lee", "Zoë  d\u2019Arc", "Ö", "Max Mustermann"]

TEMPLATES = {
    "a letter": "<!DOCTYPE html><html><head><title>Brief</title></head><body>"
    "<div id='address'><p>{}<br/>Hauptstraße 1</p></div><p>Guten Tag {},</p></body></html>",
    "text a table moves before itself": "<table><tr><td>a</td></tr>{}<tr><td>b</td></tr></table>",
    "text in the head": "<html><head><title>{}</title>{}<style>p {{}}</style></head><p>x</p>",
    "a style that holds a reference": "<style>/* {} &amp; */ p {{ color: red }}</style><p>{}</p>",
    "a pre's first newline": "<pre>\n{}</pre><pre>{}\n</pre><textarea>\n{}</textarea>",
    "a tag left open and a stray end tag": "<p><b>{}<i>{}</b> after</i></p></span>{}",
    "white space around the texts": "<ul>\n  <li>  {}  </li>\n\t<li>{}\n</li></ul>",
    "a quoted '>' in an attribute": '<p title="a>{}">{}</p>',
    "a comment": "<!-- {} --><p>{}</p>",
    "a select": "<select><option>{}</option>{}</select>",
    "a frameset": "<frameset>{}<frame></frameset>",
}
"""Each ``{}`` is filled with the same value (a name, escaped as Jinja escapes it)."""

VALUES = [
    *NAMES,
    "Meier &amp; Söhne",
    "Schulz &amp; Partner",
    "&lt;b&gt;not bold&lt;/b&gt;",
    "&#34;quoted&#34; &#39;name&#39;",
    "a = b",
    "   ",
    "",
    "\u00a0nbsp\u00a0",
    "line\none",
    "tab\tinside",
]


def letters(template: str) -> list[str]:
    return [template.format(*[value] * template.count("{}")) for value in VALUES]


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_letter_gets_html5libs_own_tree(name):
    parser = SkeletonParser()
    for round_ in range(3):
        for html in letters(TEMPLATES[name]):
            assert parser.parse(html).toxml() == parse_plainly(html).toxml(), (round_, html)


def test_a_skeleton_seen_twice_is_learned_and_its_tree_serves_the_later_letters():
    parser = SkeletonParser()
    first, second, third, fourth = (TEMPLATES["a letter"].format(name, name) for name in NAMES[:4])
    parser.parse(first)
    parser.parse(second)  # seen again: learned
    served = parser.parse(third)
    assert served.toxml() == parse_plainly(third).toxml()
    served.unlink()  # as xhtml2pdf does after its walk
    assert parser.parse(fourth) is served
    assert served.toxml() == parse_plainly(fourth).toxml()


def test_texts_are_taken_out_of_the_skeleton_with_their_white_space_left_in():
    skeleton, texts = skeleton_of("<p>  Hallo Ann &amp; Bo,\n</p> ")
    assert texts == ["Hallo Ann", "Bo,"]
    assert skeleton == ("<p>", "  ", None, " ", "&amp;", " ", None, "\n", "</p>", " ")


@pytest.mark.parametrize(
    "html", ["<p>a\r\nb</p>", "<script>var a = 1;</script><p>x</p>", "<p>\ue000</p>"]
)
def test_documents_with_a_carriage_return_a_script_or_the_markers_are_parsed_as_they_are(html):
    assert skeleton_of(html) is None
    parser = SkeletonParser()
    assert all(parser.parse(html).toxml() == parse_plainly(html).toxml() for _ in range(3))


def test_a_skeleton_whose_markers_land_outside_text_nodes_is_refused():
    skeleton, texts = skeleton_of('<p title="a>b<i>c">d</p>')
    assert texts == ["b"]  # where html5lib reads an attribute's value
    assert not LearnedSkeleton(skeleton).sound
    parser = SkeletonParser()
    html = '<p title="a>b<i>c">d</p>'
    assert all(parser.parse(html).toxml() == parse_plainly(html).toxml() for _ in range(3))


def test_the_parser_remembers_a_bounded_number_of_skeletons():
    parser = SkeletonParser()
    for number in range(3 * KEPT_SKELETONS):
        parser.parse(f"<p>{'<br/>' * number}x</p>")
    assert len(parser._skeletons) == KEPT_SKELETONS


def test_xhtml2pdf_parses_through_the_parser_only_while_it_is_installed():
    import html5lib
    from xhtml2pdf import parser as xhtml2pdf_parser

    parser = SkeletonParser()
    html = TEMPLATES["a letter"]
    pdfs = []
    for name in NAMES[:4]:
        output = io.BytesIO()
        with parsing(parser):
            assert not pisa.pisaDocument(html.format(name, name), dest=output).err
        pdfs.append(output.getvalue())
    assert xhtml2pdf_parser.html5lib is html5lib
    plain = io.BytesIO()
    assert not pisa.pisaDocument(html.format(NAMES[3], NAMES[3]), dest=plain).err
    assert len(parser._skeletons) == 1
    assert pdf_text(pdfs[3]) == pdf_text(plain.getvalue())


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize(
    ("source", "encoding"),
    [
        (b"<p>\xc3\xa4 bytes</p>", None),
        ("\ufeff<p>byte order mark</p>", None),
        (b"<p>\xff not UTF-8</p>", "utf-8"),
    ],
)
def test_sources_html5lib_would_read_otherwise_go_to_html5lib(source, encoding):
    parser = SkeletonParser()
    for _ in range(3):
        with parsing(parser):
            status = pisa.pisaDocument(source, dest=io.BytesIO(), encoding=encoding)
        assert not status.err
    assert len(parser._skeletons) == 0
