"""The panel's form base class: CSRF from Flask-WTF, WTForms' own messages in the user's language.

Forms of the areas derive from :class:`PanelForm`; labels and the panel's own validation
texts come from ``webapp.i18n.t`` in the templates and views, WTForms' built-in messages
("This field is required.") from the German or English catalogue WTForms ships.
"""

from __future__ import annotations

import functools
from typing import Any

from flask_wtf import FlaskForm
from wtforms.i18n import get_translations

from webapp.i18n import get_language


@functools.cache
def _translations(language: str) -> Any:
    return get_translations((language,))


class PanelForm(FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> Any:
            return _translations(get_language())


def add_error(field: Any, message: str) -> None:
    """Show ``message`` next to ``field`` (after ``validate``, whose list may be a tuple)."""
    field.errors = [*field.errors, message]
