"""Forms of the contacts area."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField

from core.models import DispatchChannel
from webapp.forms import PanelForm

ENCODINGS = ("", "utf-8", "cp1252", "latin-1")
DELIMITERS = {"": "", "semicolon": ";", "comma": ",", "tab": "\t", "pipe": "|"}


class ConsentForm(PanelForm):
    preferred_channel = SelectField(choices=[channel.value for channel in DispatchChannel])
    dispatch_block = BooleanField()
    opt_out_post = BooleanField()
    opt_out_email = BooleanField()
    opt_out_sms = BooleanField()
    opt_out_phone = BooleanField()


class ImportForm(PanelForm):
    file = FileField()
    encoding = SelectField(choices=list(ENCODINGS), default="")
    delimiter = SelectField(choices=list(DELIMITERS), default="")
    update_existing = BooleanField()
