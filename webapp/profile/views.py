"""The user's own settings: interface language and password (every role)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length

from core.accounts import LANGUAGES
from core.audit import record_audit
from core.models import Role
from webapp.context import current_user, db_session, login_user
from webapp.forms import PanelForm, add_error
from webapp.i18n import forget_language, t
from webapp.security import role_required

bp = Blueprint("profile", __name__, url_prefix="/profile", template_folder="templates")


class LanguageForm(PanelForm):
    language = SelectField(choices=list(LANGUAGES))


class OwnPasswordForm(PanelForm):
    current_password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(validators=[DataRequired(), Length(max=1024)])
    new_password_repeat = PasswordField(validators=[DataRequired(), EqualTo("new_password")])


def _page(language: LanguageForm, password: OwnPasswordForm, status: int = 200):
    return render_template("profile/index.html", language=language, password=password), status


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
            f"{user.language} → {form.language.data}",
        )
        user.language = form.language.data
        session.commit()
        forget_language()  # the confirmation is already in the new language
    flash(t("profile.flash.language"), "success")
    return redirect(url_for("profile.index"))


@bp.post("/password")
@role_required(Role.VIEWER)
def change_password() -> ResponseReturnValue:
    form = OwnPasswordForm()
    user = current_user()
    language = LanguageForm(formdata=None, language=user.language)
    if not form.validate():
        return _page(language, form, 422)
    if not user.check_password(form.current_password.data):
        add_error(form.current_password, t("profile.error.current"))
        return _page(language, form, 422)
    try:
        user.set_password(form.new_password.data)
    except ValueError:
        add_error(form.new_password, t("profile.error.policy"))
        return _page(language, form, 422)
    session = db_session()
    record_audit(session, user.username, "user.password_change", "user", user.id, user.username)
    session.commit()
    login_user(user)  # other sessions end with the old password; this one goes on
    flash(t("profile.flash.password"), "success")
    return redirect(url_for("profile.index"))
