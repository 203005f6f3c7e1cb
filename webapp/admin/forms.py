"""Forms of the administration."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from core.jobs.queue import QUEUE_NAMES
from core.models import Role
from webapp.accounts import LANGUAGES
from webapp.forms import ChoiceField, PanelForm, RepeatsPassword, TextField

ROLES = [role.value for role in Role]


class UserForm(PanelForm):
    display_name = StringField(validators=[Optional(), Length(max=200)])
    email = EmailField(validators=[Optional(), Length(max=254)])
    role = SelectField(choices=ROLES)
    language = SelectField(choices=list(LANGUAGES))
    active = BooleanField(default=True)


class NewUserForm(UserForm):
    username = StringField(validators=[DataRequired(), Length(max=80)])
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    password_repeat = PasswordField(validators=[DataRequired(), RepeatsPassword("password")])


class PasswordForm(PanelForm):
    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    password_repeat = PasswordField(validators=[DataRequired(), RepeatsPassword("password")])


class AuditFilterForm(PanelForm):
    class Meta:
        csrf = False

    actor = StringField(validators=[Optional(), Length(max=80)])
    action = StringField(validators=[Optional(), Length(max=80)])
    target_type = StringField(validators=[Optional(), Length(max=40)])
    target_id = StringField(validators=[Optional(), Length(max=80)])


class JobForm(PanelForm):
    """A failed job to requeue or delete: its queue and its id."""

    queue = ChoiceField(coerce=str, required=True)
    job = TextField(required=True, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.queue.choices = [(name, name) for name in QUEUE_NAMES]
