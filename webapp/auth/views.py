"""The login form (public) and logout (POST only)."""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import InputRequired, Length

from core.clock import utcnow
from core.models import User
from webapp.accounts import find_user
from webapp.context import current_user, db_session, get_campaign, login_user, logout_user
from webapp.i18n import (
    chosen_language,
    get_language,
    keep_chosen_language,
    set_anonymous_language,
    t,
)
from webapp.security import client_address, safe_next

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, template_folder="templates")

MAX_PASSWORD_LENGTH = 1024  # hashing megabytes of "password" would be a cheap DoS


class LoginForm(FlaskForm):
    username = StringField(validators=[InputRequired(), Length(max=80)])
    password = PasswordField(validators=[InputRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """The outcome of checking a username and password."""

    user: User | None
    retry_after: int = 0


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("not-the-password-of-anybody")


def authenticate(username: str, password: str, address: str) -> LoginAttempt:
    """Check the credentials, subject to the rate limits of this username, this address
    and both together (``webapp.ratelimit``).

    Unknown users, wrong passwords and inactive users fail alike and take about the
    same time (a password hash is checked in every case), so the answer reveals
    nothing about which accounts exist.
    """
    limiter = get_campaign().limiter
    wait = limiter.login_retry_after(username, address)
    if wait:
        log.warning("login refused (rate limit) for %r from %s", username, address)
        return LoginAttempt(None, retry_after=wait)
    user = find_user(db_session(), username)
    if user is None:
        check_password_hash(_dummy_hash(), password)
    elif user.check_password(password) and user.active:
        limiter.login_succeeded(username, address)
        return LoginAttempt(user)
    limiter.login_failed(username, address)
    log.info("failed login for %r from %s", username, address)
    return LoginAttempt(None)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = safe_next(request.values.get("next"))
    if current_user() is not None:
        return redirect(target or url_for("dashboard.index"))
    set_anonymous_language(request.args.get("lang"), chosen=True)

    form = LoginForm()
    error = None
    status = 200
    headers: dict[str, str] = {}
    if request.method == "POST":  # the CSRF token was already checked by CSRFProtect
        if not form.validate():
            error = t("login.missing")
        else:
            attempt = authenticate(form.username.data, form.password.data, client_address())
            if attempt.user is not None:
                attempt.user.last_login_at = utcnow()
                db_session().commit()
                chosen = chosen_language()
                login_user(attempt.user)
                keep_chosen_language(chosen)  # the login page's choice holds for the session
                return redirect(target or url_for("dashboard.index"))
            if attempt.retry_after:
                error = t("login.rate_limited", minutes=math.ceil(attempt.retry_after / 60))
                status = 429
                headers["Retry-After"] = str(attempt.retry_after)
            else:
                error = t("login.invalid")
    form.next.data = target or ""
    return render_template("auth/login.html", form=form, error=error), status, headers


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    user = current_user()
    language = get_language() if user is not None else None
    logout_user()
    set_anonymous_language(language)  # the login page stays in the user's language
    flash(t("logout.done"), "info")
    return redirect(url_for("auth.login"))
