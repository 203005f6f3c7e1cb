"""The user's own settings: interface language, password and API tokens (every role)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from core.audit import record_audit
from core.messages import stored
from core.models import Role
from core.models.users import MIN_PASSWORD_LENGTH
from webapp.accounts import LANGUAGE_TITLES, LANGUAGES
from webapp.api.tokens import ApiTokenError, create_token, revoke_token, user_tokens
from webapp.context import current_user, db_session, get_runtime, login_user
from webapp.forms import PanelForm, RepeatsPassword, add_error
from webapp.i18n import forget_language, t
from webapp.security import role_required

bp = Blueprint("profile", __name__, url_prefix="/profile", template_folder="templates")


class LanguageForm(PanelForm):
    language = SelectField(choices=list(LANGUAGES))


class OwnPasswordForm(PanelForm):
    current_password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    new_password_repeat = PasswordField(
        validators=[DataRequired(), RepeatsPassword("new_password")]
    )

    def validate_new_password(self, field: Any) -> None:
        if len(field.data or "") < MIN_PASSWORD_LENGTH:
            raise ValidationError(t("profile.error.policy"))


TOKEN_DAYS = (30, 90, 180, 365)


class TokenForm(PanelForm):
    name = StringField(validators=[DataRequired(), Length(max=80)])
    role = SelectField(choices=[role.value for role in Role])
    days = SelectField(choices=[str(days) for days in TOKEN_DAYS], default="90")


def _page(
    language: LanguageForm,
    password: OwnPasswordForm,
    status: int = 200,
    token_form: TokenForm | None = None,
    new_secret: str | None = None,
):
    user = current_user()
    if token_form is None:
        token_form = TokenForm(formdata=None, role=user.role.value)
    roles = [role.value for role in Role if user.role.includes(role)]
    tokens = user_tokens(db_session(), user, get_runtime().clock.now())
    return render_template(
        "profile/index.html",
        language=language,
        password=password,
        token_form=token_form,
        token_roles=roles,
        token_days=TOKEN_DAYS,
        tokens=tokens,
        new_secret=new_secret,
    ), status


def _forms() -> tuple[LanguageForm, OwnPasswordForm]:
    return LanguageForm(formdata=None, language=current_user().language), OwnPasswordForm(
        formdata=None
    )


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> ResponseReturnValue:
    language = LanguageForm(formdata=None, language=current_user().language)
    return _page(language, OwnPasswordForm(formdata=None))


@bp.post("/language")
@role_required(Role.VIEWER)
def save_language() -> ResponseReturnValue:
    form = LanguageForm()
    if not form.validate():
        return _page(form, OwnPasswordForm(formdata=None), 422)
    user = current_user()
    session = db_session()
    if user.language != form.language.data:
        record_audit(
            session,
            user.username,
            "user.language",
            "user",
            user.id,
            stored(
                "language: {old} → {new}",
                old=LANGUAGE_TITLES.get(user.language, user.language),
                new=LANGUAGE_TITLES[form.language.data],
            ),
        )
        user.language = form.language.data
        session.commit()
    forget_language()  # replaces a choice on the login page; the confirmation is in it already
    flash(t("profile.flash.language"), "success")
    return redirect(url_for("profile.index"))


@bp.post("/password")
@role_required(Role.VIEWER)
def change_password() -> ResponseReturnValue:
    form = OwnPasswordForm()
    user = current_user()
    language = LanguageForm(formdata=None, language=user.language)
    valid = form.validate()  # every problem at once: the new password's and the current one's
    if form.current_password.data and not user.check_password(form.current_password.data):
        add_error(form.current_password, t("profile.error.current"))
        valid = False
    if not valid:
        return _page(language, form, 422)
    user.set_password(form.new_password.data)
    session = db_session()
    record_audit(session, user.username, "user.password_change", "user", user.id, user.username)
    session.commit()
    login_user(user)  # other sessions end with the old password; this one goes on
    flash(t("profile.flash.password"), "success")
    return redirect(url_for("profile.index"))


@bp.post("/tokens")
@role_required(Role.VIEWER)
def create_api_token() -> ResponseReturnValue:
    """The secret is shown on this answer only: it is neither stored nor put in the session."""
    form = TokenForm()
    language, password = _forms()
    if not form.validate():
        return _page(language, password, 422, form)
    user = current_user()
    session = db_session()
    now = get_runtime().clock.now()
    try:
        new = create_token(
            session,
            user,
            form.name.data,
            form.role.data,
            now + timedelta(days=int(form.days.data)),
            now,
        )
    except ApiTokenError as exc:
        field = (
            form.name
            if exc.code.startswith("name")
            else form.role
            if exc.code.startswith("role")
            else form.days
        )
        add_error(field, t(f"profile.tokens.error.{exc.code}"))
        return _page(language, password, 422, form)
    record_audit(
        session,
        user.username,
        "api_token.create",
        "user",
        user.id,
        f"{new.token.name} ({new.token.role})",
        {
            "token_id": new.token.id,
            "role": str(new.token.role),
            "expires_at": new.token.expires_at.isoformat(),
        },
    )
    session.commit()
    flash(t("profile.tokens.created", name=new.token.name), "success")
    return _page(language, password, 201, new_secret=new.secret)


@bp.post("/tokens/<int:token_id>/revoke")
@role_required(Role.VIEWER)
def revoke_api_token(token_id: int) -> ResponseReturnValue:
    user = current_user()
    session = db_session()
    token = revoke_token(session, user, token_id, get_runtime().clock.now())
    if token is None:
        flash(t("profile.tokens.unknown"), "error")
        return redirect(url_for("profile.index"))
    record_audit(
        session,
        user.username,
        "api_token.revoke",
        "user",
        user.id,
        token.name,
        {"token_id": token.id},
    )
    session.commit()
    flash(t("profile.tokens.revoked", name=token.name), "success")
    return redirect(url_for("profile.index"))
