"""file-name patterns of provider processes in the restricted placeholder syntax

Patterns were ``str.format`` strings (``{date:%Y%m%d}``); now a placeholder is ``{name}``
only, and the date parts have placeholders of their own. A stored date format becomes those
(``{date:%d.%m.%Y}`` -> ``{day}.{month}.{year}``); a format they cannot say falls back to
``{date}`` / ``{time}``, and any other format spec or conversion is dropped.

Revision ID: 0015_fields_hardening
Revises: 0014
Create Date: 2026-12-05
"""

import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_fields_hardening"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

processes = sa.table(
    "service_processes",
    sa.column("id", sa.Integer),
    sa.column("file_name_pattern", sa.String(200)),
)

FORMATTED = re.compile(r"\{(\w+)(?:![rsa])?(?::([^{}]*))?\}")
DATE_CODES = {
    "%Y": "{year}",
    "%m": "{month}",
    "%d": "{day}",
    "%H": "{hour}",
    "%M": "{minute}",
    "%S": "{second}",
}
WHOLE = {"%Y%m%d": "{date}", "%H%M%S": "{time}"}


def restricted(pattern: str) -> str:
    """``pattern`` in the ``{name}``-only syntax."""

    def placeholder(match: re.Match[str]) -> str:
        name, spec = match[1], match[2]
        if name not in ("date", "time") or not spec:
            return f"{{{name}}}"
        if spec in WHOLE:
            return WHOLE[spec]
        parts = []
        for part in re.split(r"(%.)", spec):
            if re.fullmatch(r"%.", part):
                if part not in DATE_CODES:
                    return f"{{{name}}}"
                part = DATE_CODES[part]
            parts.append(part)
        return "".join(parts)

    return FORMATTED.sub(placeholder, pattern)


def formatted(pattern: str) -> str:
    """Back to ``str.format`` syntax, which knows no date-part placeholders."""
    for code, name in DATE_CODES.items():
        owner = "time" if code in ("%H", "%M", "%S") else "date"
        pattern = pattern.replace(name, f"{{{owner}:{code}}}")
    return pattern


def _rewrite(change: Callable[[str], str]) -> None:
    connection = op.get_bind()
    for row in connection.execute(sa.select(processes.c.id, processes.c.file_name_pattern)):
        new = change(row.file_name_pattern)
        if new != row.file_name_pattern:
            connection.execute(
                processes.update()
                .where(processes.c.id == row.id)
                .values(file_name_pattern=new[:200])
            )


def upgrade() -> None:
    _rewrite(restricted)


def downgrade() -> None:
    _rewrite(formatted)
