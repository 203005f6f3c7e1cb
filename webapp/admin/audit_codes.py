"""The audit log's action and target codes named in the reader's language.

An entry keeps its codes ("run.start", "run"), which administrators filter by; the catalog
of the panel or of the plugin that writes them names each one as ``audit.action.<code>``
and ``audit.target.<kind>``. A code no catalog names (a third-party plugin's) is shown as
it is.
"""

from __future__ import annotations

from webapp.i18n import known, known_ids, t

ACTION = "audit.action."
TARGET = "audit.target."


def _title(prefix: str, code: str | None) -> str | None:
    key = prefix + (code or "")
    return t(key) if code and known(key) else None


def action_title(code: str | None) -> str | None:
    """The action's title (``run.start``: "Lauf gestartet"); None when no catalog names it."""
    return _title(ACTION, code)


def target_title(kind: str | None) -> str | None:
    """The target kind's title (``run``: "Lauf"); None when no catalog names it."""
    return _title(TARGET, kind)


def named_codes(prefix: str) -> list[tuple[str, str]]:
    """Every (code, title) the catalogs name under ``prefix``, for the filters' suggestions."""
    return [(key.removeprefix(prefix), t(key)) for key in known_ids(prefix)]
