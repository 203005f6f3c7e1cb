"""The default reports, "Informationsschreiben" and "Einladung", and their building blocks.

Their layouts, stylesheets, address pattern, text blocks, logo and font are files in this
package so that they can be read and edited as what they are; ``campaign demo`` installs
them. Both letters are DIN 5008 form B (A4, address window) with the shared letterhead
"Briefbogen" (logo, font) and footer "Fußzeile".
"""

from __future__ import annotations

from importlib.resources import files

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import AddressPattern, Report, TextBlock

SOURCE = files(__name__)
LETTER_GROUP = "Standardbriefe"
PARTS_GROUP = "Bausteine"
LETTERS = {
    "Informationsschreiben": (
        "informationsschreiben.html",
        "Informiert Kunden und Interessenten über Neuerungen zu ihrem Versicherungsschutz.",
    ),
    "Einladung": ("einladung.html", "Lädt zum Kundenabend ein, mit Bitte um Anmeldung."),
}


def _text(name: str) -> str:
    return SOURCE.joinpath(name).read_text("utf-8")


def _asset(name: str) -> bytes:
    return SOURCE.joinpath("assets", name).read_bytes()


def install_default_reports(session: Session) -> list[str]:
    """Add whatever of the defaults is missing, matched by name; return what was added.

    Nothing that exists is changed, so a default a user edited stays as it is and running
    this again adds nothing. The caller commits.
    """
    added: list[str] = []

    def existing(model: type, name: str) -> object | None:
        return session.scalar(select(model).where(model.name == name))

    def add(item: AddressPattern | TextBlock | Report) -> None:
        session.add(item)
        added.append(item.name)

    if existing(AddressPattern, "DIN 5008") is None:
        add(AddressPattern(name="DIN 5008", countries=[], template=_text("anschrift_din5008.txt")))
    for name in ("briefanrede", "grussformel"):
        if existing(TextBlock, name) is None:
            add(TextBlock(name=name, body=_text(f"{name}.txt")))
    letterhead = existing(Report, "Briefbogen")
    if letterhead is None:
        letterhead = Report(
            name="Briefbogen",
            group=PARTS_GROUP,
            description="Briefkopf mit Logo und Hausschrift für die erste Seite.",
            layout=_text("briefbogen.html"),
            stylesheet=_text("briefbogen.css"),
        )
        for filename in ("logo.png", "Vera.ttf", "VeraBd.ttf"):
            letterhead.add_asset(filename, _asset(filename))
        add(letterhead)
    footer = existing(Report, "Fußzeile")
    if footer is None:
        footer = Report(
            name="Fußzeile",
            group=PARTS_GROUP,
            description="Absender, Kontakt und Seitenzahl auf jeder Seite.",
            layout=_text("fusszeile.html"),
            stylesheet=_text("fusszeile.css"),
        )
        add(footer)
    for name, (layout, description) in LETTERS.items():
        if existing(Report, name) is None:
            add(
                Report(
                    name=name,
                    group=LETTER_GROUP,
                    description=description,
                    usable_for_mass_print=True,
                    address_window=True,
                    letterhead=letterhead,
                    footer=footer,
                    layout=_text(layout),
                    stylesheet=_text("brief.css"),
                )
            )
    session.flush()
    return added
