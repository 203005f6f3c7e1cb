"""Forms of the contacts area."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField
from wtforms import BooleanField, Field, SelectField
from wtforms.utils import unset_value

from core.models import DispatchChannel
from webapp.contact_import import CONTACT_FIELDS, MATCH_ON
from webapp.forms import ChoiceField, FlagField, PanelForm, TextField
from webapp.i18n import t

ENCODINGS = ("", "utf-8", "cp1252", "latin-1")
DELIMITERS = {"": "", "semicolon": ";", "comma": ",", "tab": "\t", "pipe": "|"}
MAP_PREFIX = "map:"
"""The column mapping's selects are named after the file's columns: ``map:PLZ``."""


class ConsentForm(PanelForm):
    preferred_channel = SelectField(choices=[channel.value for channel in DispatchChannel])
    dispatch_block = BooleanField()
    opt_out_post = BooleanField()
    opt_out_email = BooleanField()
    opt_out_sms = BooleanField()
    opt_out_phone = BooleanField()


class ImportOptionsForm(PanelForm):
    """How the file is read: encoding and delimiter (empty: detected), and whether rows may
    update existing contacts."""

    encoding = ChoiceField(coerce=str)
    delimiter = ChoiceField(coerce=str)
    update_existing = FlagField()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.encoding.choices = [(name, name) for name in ENCODINGS if name]
        self.delimiter.choices = [(name, name) for name in DELIMITERS if name]

    def options(self) -> dict[str, Any]:
        """The options as ``plan_contact_import`` takes them; a refused value counts as
        not given."""
        return {
            "encoding": self.encoding.data or None,
            "delimiter": DELIMITERS.get(self.delimiter.data or "") or None,
            "update_existing": bool(self.update_existing.data),
        }


class ImportForm(ImportOptionsForm):
    """The upload: the file and how to read it."""

    file = FileField()


class MappingField(Field):
    """The column mapping: one select per column of the file, named ``map:COLUMN``, each a
    contact field or empty (the column is ignored); a field not offered is refused."""

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.process_errors = []
        self.raw_data = []
        self.data = {}
        for key in formdata or ():
            if not key.startswith(MAP_PREFIX) or not formdata.get(key):
                continue
            value = formdata.get(key)
            if value in CONTACT_FIELDS:
                self.data[key.removeprefix(MAP_PREFIX)] = value
            else:
                self.process_errors.append(t("forms.not_a_choice", value=value))


class ImportRunForm(ImportOptionsForm):
    """The preview's form: the options again, how rows find their contact, the mapping, the
    choice to import only the valid rows, and whether to import or show the preview again."""

    filename = TextField(max_length=1000)
    match_on = ChoiceField(coerce=str)
    mapping = MappingField()
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
