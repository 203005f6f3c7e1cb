"""Administration (administrators only): users and roles, user groups, plugins, queues and the
audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from core.audit import audit_query, record_audit
from core.jobs.queue import QUEUE_NAMES
from core.messages import stored
from core.models import AuditEntry, Role, User, UserGroup
from core.plugins import REGISTER_HOOKS
from webapp.accounts import LANGUAGE_TITLES, ROLE_TITLES, AccountError, create_user
from webapp.admin import jobs
from webapp.admin.audit_codes import ACTION, TARGET, action_title, named_codes, target_title
from webapp.admin.forms import (
    AuditFilterForm,
    GroupForm,
    JobForm,
    NewUserForm,
    PasswordForm,
    UserForm,
)
from webapp.admin.groups import group_uses, member_choices, member_counts, uses_text
from webapp.admin.users import update_user
from webapp.context import current_user, db_session, get_campaign, get_plugins
from webapp.editing import change_summary, check_unique, get_or_404, save_row
from webapp.forms import PanelForm, add_error, problem_text
from webapp.i18n import plugin_text, t
from webapp.pagination import page_arguments, paginate, search_argument, search_condition
from webapp.security import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

FAILED_PAGE = 25
USER_FIELDS = {
    "role": stored("role"),
    "display_name": stored("display name"),
    "email": stored("e-mail"),
    "language": stored("language"),
    "active": stored("active"),
}
"""How an audit summary names each field of a user."""
USER_VALUE_TITLES = {"role": ROLE_TITLES, "language": LANGUAGE_TITLES}
"""How an audit summary names the codes of a user's fields."""
GROUP_FIELDS = {
    "name": stored("name"),
    "description": stored("description"),
    "members": stored("members"),
}
"""How an audit summary names each field of a user group."""
GROUP_VALUE_TITLES = {"members": {"": stored("nobody")}}
"""How an audit summary names a group without members."""
FIELD_OF_RULE = {"self_admin": "role", "self_deactivate": "active", "email": "email"}
"""The form field next to which a rule of ``webapp.accounts`` or ``webapp.admin.users`` is
explained."""


@bp.before_request
@role_required(Role.ADMIN)
def _administrators_only() -> None:
    """Every page and action of this area is for administrators."""


@bp.context_processor
def _audit_titles() -> dict[str, object]:
    """The audit tables of this area name actions and targets in the reader's language."""
    return {"audit_action": action_title, "audit_target": target_title}


def _account_error_text(exc: AccountError) -> str:
    return t(f"admin.error.{exc.code}") if exc.code else str(exc)


@bp.get("/")
def index() -> str:
    session = db_session()
    users = session.scalar(select(func.count()).select_from(User).where(User.active.is_(True)))
    host = get_plugins()
    try:
        failed = jobs.failed_count()
        queue_error = None
    except jobs.QueuesUnavailable as exc:
        failed, queue_error = None, str(exc)
    latest = session.scalars(
        select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(8)
    ).all()
    return render_template(
        "admin/index.html",
        users=users,
        plugins=len(host.loaded()),
        plugin_errors=len(host.errors),
        failed=failed,
        queue_error=queue_error,
        latest=latest,
    )


# --- users -------------------------------------------------------------------------------


@bp.get("/users")
def users() -> str:
    search = search_argument(request.args)
    query = select(User).order_by(User.username)
    if search:
        query = query.where(search_condition(search, User.username, User.display_name, User.email))
    page = paginate(db_session(), query, *page_arguments(request.args))
    return render_template("admin/users.html", page=page, search=search)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> ResponseReturnValue:
    form = NewUserForm()
    if request.method == "GET" or not form.validate():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/user_new.html", form=form), status
    session = db_session()
    try:
        user = create_user(
            session,
            form.username.data.strip(),
            form.password.data,
            role=form.role.data,
            display_name=(form.display_name.data or "").strip(),
            email=form.email.data or None,
            language=form.language.data,
        )
        user.active = bool(form.active.data)
    except AccountError as exc:
        session.rollback()
        field = {"email": form.email, "password": form.password}.get(exc.code or "", form.username)
        add_error(field, _account_error_text(exc))
        return render_template("admin/user_new.html", form=form), 422
    record_audit(
        session,
        current_user().username,
        "user.create",
        "user",
        user.id,
        stored("{name} ({role})", name=user.username, role=ROLE_TITLES[user.role.value]),
        {"role": user.role.value},
    )
    session.commit()
    flash(t("admin.flash.user_created", name=user.username), "success")
    return redirect(url_for("admin.users"))


def _user(user_id: int) -> User:
    user = db_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _user_page(user: User, form: UserForm, password_form: PasswordForm, status: int = 200):
    page = render_template(
        "admin/user_edit.html",
        user=user,
        form=form,
        password_form=password_form,
        myself=user.id == current_user().id,
        history=db_session()
        .scalars(audit_query(target_type="user", target_id=user.id).limit(10))
        .all(),
    )
    return page, status


@bp.get("/users/<int:user_id>")
def edit_user(user_id: int) -> ResponseReturnValue:
    user = _user(user_id)
    form = UserForm(formdata=None, obj=user)
    form.role.data = user.role.value
    return _user_page(user, form, PasswordForm(formdata=None))


@bp.post("/users/<int:user_id>")
def save_user(user_id: int) -> ResponseReturnValue:
    session = db_session()
    user = _user(user_id)
    form = UserForm()
    if not form.validate():
        return _user_page(user, form, PasswordForm(formdata=None), 422)
    try:
        changed = update_user(
            user,
            current_user(),
            role=form.role.data,
            display_name=form.display_name.data or "",
            email=form.email.data or None,
            language=form.language.data,
            active=bool(form.active.data),
        )
    except AccountError as exc:
        session.rollback()
        add_error(
            getattr(form, FIELD_OF_RULE.get(exc.code or "", "role")), _account_error_text(exc)
        )
        return _user_page(_user(user_id), form, PasswordForm(formdata=None), 422)
    if changed:
        summary = change_summary(changed, USER_FIELDS, USER_VALUE_TITLES)
        record_audit(
            session, current_user().username, "user.update", "user", user.id, summary, changed
        )
        session.commit()
        flash(t("admin.flash.user_saved", name=user.username), "success")
    else:
        flash(t("admin.flash.unchanged"), "info")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int) -> ResponseReturnValue:
    session = db_session()
    user = _user(user_id)
    password_form = PasswordForm()
    form = UserForm(formdata=None, obj=user)
    form.role.data = user.role.value
    if not password_form.validate():
        return _user_page(user, form, password_form, 422)
    user.set_password(password_form.password.data)
    record_audit(
        session, current_user().username, "user.password_reset", "user", user.id, user.username
    )
    session.commit()
    flash(t("admin.flash.password_reset", name=user.username), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


# --- groups ------------------------------------------------------------------------------


@bp.get("/groups")
def groups() -> str:
    session = db_session()
    page = paginate(
        session, select(UserGroup).order_by(UserGroup.name), *page_arguments(request.args)
    )
    ids = [group.id for group in page.items]
    uses = group_uses(session, ids)
    return render_template(
        "admin/groups.html",
        page=page,
        members=member_counts(session, ids),
        uses={group_id: uses_text(found) for group_id, found in uses.items()},
    )


@bp.route("/groups/new", methods=["GET", "POST"])
def new_group() -> ResponseReturnValue:
    return _save_group(None)


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
def edit_group(group_id: int) -> ResponseReturnValue:
    return _save_group(get_or_404(UserGroup, group_id))


def _group_page(group: UserGroup | None, form: GroupForm, status: int = 200):
    session = db_session()
    uses = group_uses(session, [group.id]).get(group.id, {}) if group is not None else {}
    history = (
        session.scalars(audit_query(target_type="user_group", target_id=group.id).limit(10)).all()
        if group is not None
        else []
    )
    page = render_template(
        "admin/group_form.html",
        group=group,
        values=form.values,
        errors=form.messages,
        members=member_choices(session, group),
        uses=uses_text(uses),
        history=history,
    )
    return page, status


def _save_group(group: UserGroup | None) -> ResponseReturnValue:
    session = db_session()
    form = GroupForm(
        data={"description": "", "members": []}
        if group is None
        else {
            "name": group.name,
            "description": group.description,
            "members": [user.id for user in group.members],
        }
    )
    if request.method == "GET":
        return _group_page(group, form)
    form.members.choices = member_choices(session, group)
    form.validate()
    check_unique(form, UserGroup, group, "name")
    if not form.ok:
        return _group_page(group, form, 422)
    members = session.scalars(
        select(User).where(User.id.in_(form.members.data)).order_by(User.id)
    ).all()
    fields = {"name": form.name.data, "description": form.description.data, "members": members}
    wanted = {**fields, "members": sorted(user.username for user in members)}
    if group is None:
        group, _created = save_row(
            UserGroup, None, fields, lambda row: row.name, lambda row: wanted, "user_group"
        )
        flash(t("admin.flash.group_created", name=group.name), "success")
        return redirect(url_for("admin.groups"))
    old = {
        "name": group.name,
        "description": group.description,
        "members": sorted(user.username for user in group.members),
    }
    changed = {name: [old[name], value] for name, value in wanted.items() if old[name] != value}
    if not changed:
        flash(t("admin.flash.unchanged"), "info")
        return redirect(url_for("admin.edit_group", group_id=group.id))
    # the summary names the members as a list
    shown = {
        name: [", ".join(value) if isinstance(value, list) else value for value in pair]
        for name, pair in changed.items()
    }
    summary = change_summary(shown, GROUP_FIELDS, GROUP_VALUE_TITLES)
    save_row(UserGroup, group, fields, lambda row: summary, lambda row: changed, "user_group")
    flash(t("admin.flash.group_saved", name=group.name), "success")
    return redirect(url_for("admin.edit_group", group_id=group.id))


@bp.post("/groups/<int:group_id>/delete")
def delete_group(group_id: int) -> ResponseReturnValue:
    session = db_session()
    group = get_or_404(UserGroup, group_id)
    form = PanelForm()
    if not form.validate():
        flash(problem_text(form, {}), "error")
        return redirect(url_for("admin.edit_group", group_id=group.id))
    uses = group_uses(session, [group.id]).get(group.id)
    if uses:
        flash(t("admin.groups.in_use", name=group.name, uses=uses_text(uses)), "error")
        return redirect(url_for("admin.edit_group", group_id=group.id))
    name, members = group.name, sorted(user.username for user in group.members)
    record_audit(
        session,
        current_user().username,
        "user_group.delete",
        "user_group",
        group.id,
        name,
        {"members": members},
    )
    session.delete(group)
    session.commit()
    flash(t("admin.flash.group_deleted", name=name), "success")
    return redirect(url_for("admin.groups"))


# --- plugins -----------------------------------------------------------------------------


@bp.get("/plugins")
def plugins() -> str:
    host = get_plugins()
    data = host.describe()
    titles = {
        (entry["kind"], entry["name"]): plugin_text(
            host.registries[entry["kind"]].get(entry["name"]), "title"
        )
        for plugin in data["plugins"]
        for entry in plugin["registers"]
    }
    return render_template(
        "admin/plugins.html",
        data=data,
        titles=titles,
        register_hooks=set(REGISTER_HOOKS),
        panel_errors=get_campaign().errors,
    )


# --- queues ------------------------------------------------------------------------------


@bp.get("/queues")
def queues() -> ResponseReturnValue:
    queue_name = request.args.get("queue", "")
    if queue_name not in QUEUE_NAMES:
        queue_name = ""
    number, _size = page_arguments(request.args)
    try:
        overview = jobs.queue_overview()
        worker_list = jobs.workers()
        shown = queue_name or next((q.name for q in overview if q.failed), QUEUE_NAMES[0])
        total, failed = jobs.failed_jobs(shown, (number - 1) * FAILED_PAGE, FAILED_PAGE)
    except jobs.QueuesUnavailable as exc:
        return render_template("admin/queues.html", error=str(exc)), 503
    pages = max(1, -(-total // FAILED_PAGE))
    return render_template(
        "admin/queues.html",
        error=None,
        overview=overview,
        workers=worker_list,
        shown=shown,
        failed=failed,
        total=total,
        number=min(number, pages),
        pages=pages,
    )


def _job_action(action: str) -> ResponseReturnValue:
    form = JobForm()
    if not form.validate():
        labels = {"queue": t("admin.queues.queue_label"), "job": t("admin.queues.job")}
        flash(problem_text(form, labels), "error")
        return redirect(url_for("admin.queues"))
    queue_name, job_id = form.queue.data, form.job.data
    try:
        done = (
            jobs.requeue(queue_name, job_id)
            if action == "requeue"
            else jobs.delete_failed(queue_name, job_id)
        )
    except jobs.QueuesUnavailable as exc:
        flash(t("admin.queues.unavailable", reason=str(exc)), "error")
        return redirect(url_for("admin.queues"))
    if done:
        session = db_session()
        record_audit(
            session,
            current_user().username,
            f"job.{action}",
            "job",
            job_id,
            f"{queue_name}: {job_id}",
            {"queue": queue_name},
        )
        session.commit()
        flash(t(f"admin.flash.job_{action}", job=job_id), "success")
    else:
        flash(t("admin.flash.job_gone", job=job_id), "warning")
    return redirect(url_for("admin.queues", queue=queue_name))


@bp.post("/queues/requeue")
def requeue_job() -> ResponseReturnValue:
    return _job_action("requeue")


@bp.post("/queues/delete")
def delete_job() -> ResponseReturnValue:
    return _job_action("delete")


# --- audit log ---------------------------------------------------------------------------


@bp.get("/audit")
def audit() -> str:
    form = AuditFilterForm(request.args)
    form.validate()
    query = audit_query(
        actor=(form.actor.data or "").strip() or None,
        action_prefix=(form.action.data or "").strip() or None,
        target_type=(form.target_type.data or "").strip() or None,
        target_id=(form.target_id.data or "").strip() or None,
    )
    page = paginate(db_session(), query, *page_arguments(request.args))
    actors = db_session().scalars(select(User.username).order_by(User.username)).all()
    return render_template(
        "admin/audit.html",
        page=page,
        form=form,
        actors=actors,
        actions=named_codes(ACTION),
        targets=named_codes(TARGET),
    )
