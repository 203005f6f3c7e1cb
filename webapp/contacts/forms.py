"""Forms of the contacts area."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField

from core.models import DispatchChannel
from webapp.contact_import import CONTACT_FIELDS, MATCH_ON
from webapp.forms import ChoiceField, FlagField, PanelForm, TextField
from webapp.imports import MappingField, ReadOptionsForm


class ConsentForm(PanelForm):
    preferred_channel = SelectField(choices=[channel.value for channel in DispatchChannel])
    dispatch_block = BooleanField()
    opt_out_post = BooleanField()
    opt_out_email = BooleanField()
    opt_out_sms = BooleanField()
    opt_out_phone = BooleanField()


class ImportOptionsForm(ReadOptionsForm):
    """How the file is read: encoding and delimiter (empty: detected), and whether rows may
    update existing contacts."""

    update_existing = FlagField()

    def options(self) -> dict[str, Any]:
        """The options as ``plan_contact_import`` takes them; a refused value counts as
        not given."""
        return {**self.read_options(), "update_existing": bool(self.update_existing.data)}


class ImportForm(ImportOptionsForm):
    """The upload: the file and how to read it."""

    file = FileField()


class ImportRunForm(ImportOptionsForm):
    """The preview's form: the options again, how rows find their contact, the mapping, the
    choice to import only the valid rows, and whether to import or show the preview again."""

    filename = TextField(max_length=1000)
    match_on = ChoiceField(coerce=str)
    mapping = MappingField(CONTACT_FIELDS)
    only_valid_rows = FlagField()
    action = ChoiceField(coerce=str)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.match_on.choices = [(name, name) for name in MATCH_ON]
        self.action.choices = [("preview", "preview"), ("import", "import")]

    def options(self) -> dict[str, Any]:
        return {
            **super().options(),
            "mapping": self.mapping.data or None,
            "match_on": self.match_on.data,
        }
