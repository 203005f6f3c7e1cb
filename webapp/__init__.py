"""The web admin panel: a Flask application built by :func:`create_app`.

Each area is a blueprint in its own package with its own templates and texts
(``webapp/auth``, ``webapp/dashboard``, listed in ``PANEL_AREAS``); plugins add
blueprints and menu entries through the ``register_blueprints`` and
``register_menu_items`` hooks. Every
endpoint but the login page, static files and the load balancers' ``/healthz``
(``webapp.health``) requires a logged-in user.

``__all__`` is the panel's public API: a plugin's screens import these names from
``webapp`` and nothing else of the panel (tests/test_architecture.py checks it); among them
``ApiBlueprint`` and its helpers, with which a plugin adds operations to the HTTP API, and
``PanelForm`` with the fields of ``webapp.forms`` for a screen's fixed forms.

What views use::

    from webapp import current_user, db_session, role_required, t
    from core.models import Role

    @bp.get("/things")
    @role_required(Role.CAMPAIGN_MANAGER)
    def things():
        rows = db_session().scalars(select(Thing)).all()
        ...

Configuration beyond :class:`core.config.Settings` goes in ``overrides`` (Flask
config keys), among them:

``SESSION_COOKIE_SECURE``
    True forces the ``Secure`` cookie flag (and ``https`` URLs) for every request;
    otherwise the flag is set whenever the request itself came over HTTPS.
``CAMPAIGN_TRUSTED_PROXIES``
    Number of reverse proxies in front of the app whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` headers are trusted (default: the environment variable of
    that name, ``settings.trusted_proxies``, 0 unless set).
``CAMPAIGN_LOGIN_LIMITER``
    "auto"/"redis" (default: shared count in ``settings.redis_url`` or the embedded
    Redis, in-process if that is unreachable), "memory", or a
    :class:`webapp.ratelimit.LoginRateLimiter` instance.
``CAMPAIGN_LOGIN_MAX_FAILURES`` / ``CAMPAIGN_LOGIN_FAILURE_WINDOW``
    5 failed logins per username and address within 15 minutes by default.
``CAMPAIGN_LOGIN_MAX_FAILURES_PER_ADDRESS`` / ``CAMPAIGN_LOGIN_MAX_FAILURES_PER_ACCOUNT``
    10 failed logins from one address whatever the usernames, 20 for one username whatever
    the addresses, within the same window.
``CAMPAIGN_LOGIN_LIMITER_PREFIX``
    Prefix of the Redis keys of the login limiter.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import Conflict, HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from core.config import Settings
from core.db.database import Database
from core.jobs import embedded_redis
from core.plugins import PluginHost, plugins_for
from webapp.api.auth import audit as api_audit
from webapp.api.auth import token_user as api_user
from webapp.api.blueprint import ApiBlueprint
from webapp.api.paging import PageQuery as ApiPageQuery
from webapp.api.paging import page as api_page
from webapp.api.problems import ApiProblem, problem_response
from webapp.api.spec import MAX_ID
from webapp.campaigns.config_form import ConfigDraft, count_groups
from webapp.campaigns.runs import run_file_store
from webapp.context import (
    CampaignWeb,
    close_db_session,
    current_user,
    db_session,
    get_campaign,
    get_plugins,
    get_runtime,
    get_settings,
    login_user,
    logout_user,
)
from webapp.dashboard.panels import collect_panels
from webapp.editing import (
    Choices,
    GroupedChoices,
    acting_user,
    check_unique,
    choice_ids,
    get_or_404,
    group_choices,
    manager_choices,
    names_by_id,
    save_row,
    user_choices,
    username,
)
from webapp.form_limits import PanelRequest
from webapp.formatting import (
    format_bytes,
    format_date,
    format_datetime,
    format_money,
    format_number,
    init_formatting,
)
from webapp.forms import (
    ChoiceField,
    ChoiceListField,
    DateField,
    EnumField,
    FlagField,
    IdListField,
    LocalDateTimeField,
    MoneyField,
    NumberField,
    PanelForm,
    TextField,
    WholeNumberField,
    check_period,
    date_example,
    parse_id,
    pressed_button,
    problem_text,
)
from webapp.i18n import (
    LANGUAGE_NAMES,
    get_language,
    item_detail,
    plugin_text,
    plugin_translator,
    render_stored,
    run_actor,
    stored_text,
    t,
    tn,
    workflow_log,
    workflow_summary,
    workflow_title,
)
from webapp.imports import describe_row_error
from webapp.menu import check_menu_items, collect_menu_items, visible_menu
from webapp.pagination import (
    Page,
    date_argument,
    id_argument,
    page_arguments,
    paginate,
    search_argument,
    search_condition,
)
from webapp.ratelimit import (
    DEFAULT_MAX_FAILURES,
    DEFAULT_MAX_FAILURES_PER_ACCOUNT,
    DEFAULT_MAX_FAILURES_PER_ADDRESS,
    DEFAULT_WINDOW,
    make_login_limiter,
)
from webapp.schema_forms import (
    OptionResolver,
    SettingsForm,
    all_problems,
    build_form,
    parse_form,
    submitted_plugin,
)
from webapp.security import csrf, has_role, in_token_area, init_security, role_required

__all__ = [
    "ApiBlueprint",
    "ApiPageQuery",
    "ApiProblem",
    "CampaignWeb",
    "ChoiceField",
    "ChoiceListField",
    "Choices",
    "ConfigDraft",
    "DateField",
    "EnumField",
    "FlagField",
    "GroupedChoices",
    "IdListField",
    "LocalDateTimeField",
    "MoneyField",
    "NumberField",
    "OptionResolver",
    "Page",
    "PanelForm",
    "SettingsForm",
    "TextField",
    "WholeNumberField",
    "acting_user",
    "all_problems",
    "api_audit",
    "api_page",
    "api_user",
    "build_form",
    "check_period",
    "check_unique",
    "choice_ids",
    "count_groups",
    "create_app",
    "csrf",
    "current_user",
    "date_argument",
    "db_session",
    "format_date",
    "format_datetime",
    "format_money",
    "format_number",
    "get_campaign",
    "get_or_404",
    "get_plugins",
    "get_runtime",
    "get_settings",
    "group_choices",
    "has_role",
    "id_argument",
    "login_user",
    "logout_user",
    "manager_choices",
    "names_by_id",
    "page_arguments",
    "paginate",
    "parse_form",
    "parse_id",
    "plugin_text",
    "plugin_translator",
    "pressed_button",
    "problem_text",
    "render_stored",
    "role_required",
    "run_file_store",
    "save_row",
    "search_argument",
    "search_condition",
    "stored_text",
    "submitted_plugin",
    "t",
    "tn",
    "user_choices",
    "username",
]

log = logging.getLogger(__name__)

SESSION_LIFETIME = timedelta(hours=8)
PANEL_AREAS = (
    "webapp.auth",
    "webapp.dashboard",
    "webapp.campaigns",
    "webapp.queries",
    "webapp.profile",
    "webapp.reports",
    "webapp.contacts",
    "webapp.archive",
    "webapp.admin",
    "webapp.workflows",
    "webapp.notifications",
    "webapp.health",
    "webapp.unsubscribe",
    "webapp.api",
    "webapp.sms_webhooks",
)
"""The panel's own areas: packages with a blueprint ``bp``."""
ERROR_PAGES = (400, 403, 404, 405, 409, 413, 429)
MAX_FORM_FIELDS = 1000
"""Fields (with files) of one form; more are refused with 413 (``webapp.form_limits``)."""
MAX_FORM_FIELD_BYTES = 512 * 1024
"""Bytes of one field of a multipart form other than a file, which is held in memory."""


def _digits_up_to(limit: int) -> str:
    """A regular expression for the whole numbers from 0 to ``limit``, leading zeros
    allowed: the digits before the first one below ``limit``'s, then any digits."""
    written = str(limit)
    shorter = [f"\\d{{1,{len(written) - 1}}}"] if len(written) > 1 else []
    below = [
        f"{written[:place]}[0-{int(digit) - 1}]\\d{{{len(written) - place - 1}}}"
        for place, digit in enumerate(written)
        if digit != "0"
    ]
    return f"0*(?:{'|'.join([*shorter, *below, written])})"


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every address: a number beyond any row id is a page that does not
    exist (404); handed to the database, it would fail in the driver with a 500. The bound is
    in the pattern, not a check after it: an address that matched the pattern of one
    method's route would answer 405 for the others."""

    regex = _digits_up_to(MAX_ID)


def create_app(
    settings: Settings | None = None,
    plugins: PluginHost | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Flask:
    """Build the panel for one installation.

    ``settings`` default to ``Settings.from_env()``; ``plugins`` to the installation's
    plugins without the disabled ones; ``overrides`` are Flask config values applied
    last (e.g. ``{"TESTING": True}``). Without ``CAMPAIGN_REDIS_URL`` the panel uses the
    embedded Redis server in the data directory, like every process of the installation,
    and starts it if none runs; if it cannot, :class:`core.config.ConfigError` says what
    to configure.
    """
    if settings is None:
        settings = Settings.from_env()
    if plugins is None:
        plugins = plugins_for(settings)
    embedded_server = None
    if settings.redis_url is None:
        # The installation's one embedded server, shared with its workers and scheduler:
        # started here if no process runs it yet; a ConfigError names what to set if not.
        _url, embedded_server = embedded_redis.start_or_reuse(settings.data_dir)

    app = Flask(__name__)
    app.request_class = PanelRequest
    app.url_map.converters["int"] = RowIdConverter
    _configure(app, settings, overrides or {})
    proxies = int(app.config["CAMPAIGN_TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    campaign = CampaignWeb(
        settings=settings,
        database=Database(settings.database_url, plugins),
        plugins=plugins,
        limiter=make_login_limiter(settings, app.config),
        embedded_server=embedded_server,
    )
    app.extensions["campaign"] = campaign

    app.before_request(refuse_bad_host)
    app.before_request(refuse_nul_characters)
    init_security(app)
    app.teardown_appcontext(close_db_session)
    _init_templates(app)
    _init_error_pages(app)

    for module_name in PANEL_AREAS:
        area = importlib.import_module(module_name)
        app.register_blueprint(area.bp)
    _register_plugin_blueprints(app, plugins, campaign.errors)
    campaign.menu_items = check_menu_items(
        app, collect_menu_items(plugins, campaign.errors), campaign.errors
    )
    campaign.panels = collect_panels(plugins, campaign.errors)
    return app


def _configure(app: Flask, settings: Settings, overrides: Mapping[str, Any]) -> None:
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="campaign_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        CAMPAIGN_TRUSTED_PROXIES=settings.trusted_proxies,
        CAMPAIGN_LOGIN_LIMITER="auto",
        CAMPAIGN_LOGIN_MAX_FAILURES=DEFAULT_MAX_FAILURES,
        CAMPAIGN_LOGIN_MAX_FAILURES_PER_ADDRESS=DEFAULT_MAX_FAILURES_PER_ADDRESS,
        CAMPAIGN_LOGIN_MAX_FAILURES_PER_ACCOUNT=DEFAULT_MAX_FAILURES_PER_ACCOUNT,
        CAMPAIGN_LOGIN_FAILURE_WINDOW=DEFAULT_WINDOW,
        MAX_CONTENT_LENGTH=settings.max_upload,
        MAX_FORM_PARTS=MAX_FORM_FIELDS,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_FIELD_BYTES,
    )
    app.config.update(overrides)
    # Derived values, unless given explicitly.
    if "PREFERRED_URL_SCHEME" not in overrides:
        app.config["PREFERRED_URL_SCHEME"] = (
            "https" if app.config["SESSION_COOKIE_SECURE"] else "http"
        )
    if "WTF_CSRF_TIME_LIMIT" not in overrides:  # a login form may stay open all day
        app.config["WTF_CSRF_TIME_LIMIT"] = int(app.permanent_session_lifetime.total_seconds())


def _init_templates(app: Flask) -> None:
    init_formatting(app)
    app.jinja_env.globals.update(
        t=t,
        tn=tn,
        plugin_text=plugin_text,
        workflow_title=workflow_title,
        workflow_summary=workflow_summary,
        item_detail=item_detail,
        run_actor=run_actor,
        stored_text=stored_text,
        workflow_log=workflow_log,
        has_role=has_role,
        date_example=date_example,
        current_language=get_language,
        language_names=LANGUAGE_NAMES,
        row_problems=describe_row_error,
        has_endpoint=lambda endpoint: endpoint in app.view_functions,
    )

    @app.context_processor
    def panel_context() -> dict[str, Any]:
        user = current_user()
        return {"current_user": user, "menu": visible_menu(user)}


def _init_error_pages(app: Flask) -> None:
    def error_page(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if isinstance(error, CSRFError):
            message = t("error.csrf")
        elif isinstance(error, RequestEntityTooLarge):
            message = _too_large()
        else:
            message = t(f"error.{code}.text")
        if in_token_area():
            return problem_response(ApiProblem(code, message))
        title = t(f"error.{code}.title")
        retry_after = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}
        if _wants_json():
            return {"error": title, "message": message}, code, headers
        page = render_template("error.html", code=code, title=title, message=message)
        return page, code, headers

    def conflict_page(error: IntegrityError) -> ResponseReturnValue:
        """A unique name or a reference the view had checked, broken by another request that
        committed in between (two people saving the same name at once): nothing of this
        request was stored, and the person is asked to try again instead of seeing a 500."""
        log.warning("a write conflicted with data stored meanwhile: %s", error.orig)
        db_session().rollback()
        return error_page(Conflict())

    for code in ERROR_PAGES:
        app.register_error_handler(code, error_page)
    app.register_error_handler(IntegrityError, conflict_page)


def _too_large() -> str:
    """What was too large: the whole request, or (a body within the limit) the form's
    fields, which Werkzeug and ``webapp.form_limits`` bound on their own."""
    limit = request.max_content_length
    length = request.content_length
    if limit is not None and length is not None and length <= limit:
        return t(
            "error.413.form",
            parts=format_number(request.max_form_parts),
            size=format_bytes(request.max_form_memory_size),
        )
    return t("error.413.limit", limit=format_bytes(limit))


def refuse_bad_host() -> ResponseReturnValue | None:
    """``before_request`` before all others: a Host header that is no server name (``..``,
    a name over 253 characters) leaves Flask without a URL adapter, so that every
    ``url_for`` failed with 500; it gets the panel's 400 page, its links built for the
    server's own name."""
    if request_ctx.url_adapter is not None:
        return None
    request_ctx.url_adapter = current_app.url_map.bind(
        request.environ.get("SERVER_NAME") or "localhost",
        script_name=request.root_path or "/",
        url_scheme=request.scheme,
    )
    return _bad_request(t("error.bad_host"))


def refuse_nul_characters() -> tuple[str, int] | None:
    """``before_request`` for every endpoint, before login and CSRF: a NUL character in the
    address, a parameter, a form field or an uploaded file's name is refused with 400.

    No text in the panel may hold one, PostgreSQL refuses it with an error that would
    become a 500, and SQLite would store it; refusing it here covers every view, the
    login form and plugin pages alike.
    """
    if "\0" in request.path:
        return _bad_request(t("error.nul_address"))
    fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
    fields += [(name, upload.filename or "") for name, upload in request.files.items(multi=True)]
    for name, value in fields:
        if "\0" in name or "\0" in value:
            return _bad_request(t("error.nul_field", field=name.replace("\0", "\\0")))
    return None


def _bad_request(message: str) -> ResponseReturnValue:
    if in_token_area():
        return problem_response(ApiProblem(400, message))
    page = render_template("error.html", code=400, title=t("error.400.title"), message=message)
    return page, 400


def _wants_json() -> bool:
    """A script or a page's fetch() call, which reads the answer as JSON, not as a page."""
    accepted = request.accept_mimetypes
    return (
        request.is_json
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"
        or accepted.best_match(["text/html", "application/json"]) == "application/json"
    )


def _register_plugin_blueprints(app: Flask, plugins: PluginHost, errors: list[str]) -> None:
    """Register each plugin's blueprints; one broken plugin does not take the panel down."""
    for impl in plugins.hook.register_blueprints.get_hookimpls():
        collected: list[object] = []
        try:
            impl.function(**{arg: collected.append for arg in impl.argnames})
        except Exception as exc:
            _plugin_error(
                errors, f"plugin {impl.plugin_name!r}: register_blueprints failed: {exc!r}"
            )
            continue
        for blueprint in collected:
            if not isinstance(blueprint, Blueprint):
                _plugin_error(
                    errors, f"plugin {impl.plugin_name!r}: {blueprint!r} is not a Flask Blueprint"
                )
                continue
            try:
                app.register_blueprint(blueprint)
            except Exception as exc:  # e.g. a name already taken
                _plugin_error(
                    errors,
                    f"plugin {impl.plugin_name!r}: blueprint "
                    f"{blueprint.name!r} not registered: {exc}",
                )


def _plugin_error(errors: list[str], message: str) -> None:
    log.error("web panel: %s", message)
    errors.append(message)
