"""Forms of the administration."""

from __future__ import annotations

from typing import Any

from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.jobs.queue import QUEUE_NAMES
from core.models import Role
from core.models.users import MIN_PASSWORD_LENGTH
from webapp.accounts import EMAIL_PATTERN, LANGUAGES, USERNAME_PATTERN
from webapp.forms import ChoiceField, ChoiceListField, PanelForm, RepeatsPassword, TextField
from webapp.i18n import t

ROLES = [role.value for role in Role]


class UserForm(PanelForm):
    display_name = StringField(validators=[Optional(), Length(max=200)])
    email = EmailField(validators=[Optional(), Length(max=254)])
    role = SelectField(choices=ROLES)
    language = SelectField(choices=list(LANGUAGES))
    active = BooleanField(default=True)

    # the rules of webapp.accounts, checked with the form so that every field's problem is
    # named at once, not one after the other
    def validate_email(self, field: Any) -> None:
        if field.data and not EMAIL_PATTERN.match(field.data):
            raise ValidationError(t("admin.error.email"))


class PasswordForm(PanelForm):
    """A password set by an administrator: for a new user and when resetting one's."""

    password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    password_repeat = PasswordField(validators=[DataRequired(), RepeatsPassword("password")])

    # the length User.set_password requires, checked with the form so that a short password
    # and a differing repeat are named at once
    def validate_password(self, field: Any) -> None:
        if len(field.data or "") < MIN_PASSWORD_LENGTH:
            raise ValidationError(t("admin.error.password"))


class NewUserForm(UserForm, PasswordForm):
    username = StringField(validators=[DataRequired(), Length(max=80)])

    def validate_username(self, field: Any) -> None:
        if not USERNAME_PATTERN.match((field.data or "").strip()):
            raise ValidationError(t("admin.error.username"))


class GroupForm(PanelForm):
    """A user group: its name (unique), what it is for, and its members (user ids)."""

    name = TextField(required=True, max_length=100)
    description = TextField(max_length=2000)
    members = ChoiceListField()


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
