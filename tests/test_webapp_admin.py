"""Administration: users and roles, user groups, plugins, queues and failed jobs, the audit
log."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.registry import FailedJobRegistry
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core.audit import record_audit
from core.models import AuditEntry, Role, User, UserGroup
from core.plugins import DEFAULT_PLUGINS, load_plugins
from webapp import create_app, get_campaign
from webapp.accounts import find_user
from webapp.admin.groups import USED_BY, group_columns
from webapp.i18n import PANEL_CATALOGS, catalog_ids
from webapp.testing import login

from panel_helpers import PASSWORD, body, field_errors, post
from waiting import stop_group, wait_for

ADMIN_PAGES = (
    "/admin/",
    "/admin/users",
    "/admin/users/new",
    "/admin/groups",
    "/admin/groups/new",
    "/admin/plugins",
    "/admin/queues",
    "/admin/audit",
)


def test_only_administrators_reach_the_administration(client_for, panel_users, database):
    with database.session() as session:
        viewer_id = find_user(session, "viewer").id
        group = UserGroup(name="Lager")
        session.add(group)
        session.flush()
        group_id = group.id
    for user in ("viewer", "reviewer", "manager"):
        client = client_for(user)
        for path in (*ADMIN_PAGES, f"/admin/users/{viewer_id}", f"/admin/groups/{group_id}"):
            assert client.get(path).status_code == 403, (user, path)
        for path in (
            "/admin/users/new",
            f"/admin/users/{viewer_id}",
            f"/admin/users/{viewer_id}/password",
            "/admin/groups/new",
            f"/admin/groups/{group_id}",
            f"/admin/groups/{group_id}/delete",
            "/admin/queues/requeue",
            "/admin/queues/delete",
        ):
            assert post(client, path, {"role": "admin", "name": "X"}).status_code == 403, (
                user,
                path,
            )
        assert "Administration" not in body(client.get("/"))
    with database.session() as session:
        assert session.get(UserGroup, group_id).name == "Lager"
    for path in ADMIN_PAGES:
        assert client_for("admin").get(path).status_code in (200, 503), path


# -- users ------------------------------------------------------------------------------------


def test_an_admin_creates_a_user_who_can_then_sign_in(client_for, panel_app, database):
    data = {
        "username": "neu",
        "display_name": "Nora Neu",
        "email": "nora@example.de",
        "role": "reviewer",
        "language": "en",
        "active": "y",
        "password": "ein langes Passwort",
        "password_repeat": "ein langes Passwort",
    }
    response = post(client_for("admin"), "/admin/users/new", data)
    assert response.status_code == 302
    with database.session() as session:
        user = find_user(session, "neu")
        assert (user.role, user.language, user.email) == (Role.REVIEWER, "en", "nora@example.de")
        assert session.scalar(
            select(AuditEntry.summary).where(AuditEntry.action == "user.create")
        ) == ("neu (reviewer)")
    assert "neu (Prüfer)" in body(client_for("admin").get("/admin/audit"))
    assert login(panel_app.test_client(), "neu", "ein langes Passwort").status_code == 302


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "viewer"}, "Diesen Benutzernamen gibt es schon."),
        ({"username": "a b"}, "2 bis 80 Buchstaben"),
        ({"password": "kurz", "password_repeat": "kurz"}, "mindestens 10 Zeichen"),
        ({"password_repeat": "anders als oben"}, "Die beiden Passwörter stimmen nicht überein."),
        ({"email": "kein-at"}, "keine gültige E-Mail-Adresse"),
    ],
)
def test_invalid_new_users_are_explained_next_to_the_field(client_for, changes, message):
    data = {
        "username": "neu",
        "role": "viewer",
        "language": "de",
        "password": "ein langes Passwort",
        "password_repeat": "ein langes Passwort",
        **changes,
    }
    response = post(client_for("admin"), "/admin/users/new", data)
    assert response.status_code == 422
    errors = field_errors(body(response))
    assert any(message in error for error in errors), errors


def test_every_problem_of_a_new_user_is_named_at_once(client_for):
    data = {
        "username": "Erika Muster",
        "email": "kein-at",
        "role": "viewer",
        "language": "de",
        "password": "kurz",
        "password_repeat": "kurz",
    }
    response = post(client_for("admin"), "/admin/users/new", data)
    html = body(response)
    assert response.status_code == 422
    assert field_errors(html, "username") == [
        "2 bis 80 Buchstaben, Ziffern oder die Zeichen _ . @ -"
    ]
    assert field_errors(html, "email") == ["Das ist keine gültige E-Mail-Adresse."]
    assert field_errors(html, "password") == ["Das Passwort braucht mindestens 10 Zeichen."]


def user_id(database, name: str) -> int:
    with database.session() as session:
        return find_user(session, name).id


def settings_form(**changes) -> dict[str, str]:
    return {
        "display_name": "X",
        "email": "",
        "role": "viewer",
        "language": "de",
        "active": "y",
        **changes,
    }


def test_an_admin_changes_role_and_deactivates_a_user_and_it_is_audited(
    client_for, panel_app, database
):
    viewer = client_for("viewer")
    target = user_id(database, "viewer")
    response = post(
        client_for("admin"),
        f"/admin/users/{target}",
        settings_form(role="campaign_manager", display_name="Vera", active=""),
    )
    assert response.status_code == 302
    with database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.update"))
        assert entry.details["role"] == ["viewer", "campaign_manager"]
        assert entry.details["active"] == [True, False]
    assert viewer.get("/").status_code == 302  # a deactivated user's session ends
    assert login(panel_app.test_client(), "viewer", PASSWORD).status_code == 200  # refused
    # the log names the roles and languages as the reader's language does, not by their codes
    post(
        client_for("admin"),
        f"/admin/users/{target}",
        settings_form(role="campaign_manager", language="en", active=""),
    )
    log = body(client_for("admin").get("/admin/audit"))
    assert "Rolle: Betrachter → Kampagnenmanager" in log and "Sprache: Deutsch → Englisch" in log
    assert "campaign_manager" not in log.replace("user.update", "")


def test_an_admin_cannot_demote_or_deactivate_themselves(client_for, database):
    admin = client_for("admin")
    me = user_id(database, "admin")
    demoted = post(admin, f"/admin/users/{me}", settings_form(role="viewer"))
    assert demoted.status_code == 422
    assert "Sie können sich die Administratorrolle nicht selbst nehmen." in field_errors(
        body(demoted)
    )
    deactivated = post(admin, f"/admin/users/{me}", settings_form(role="admin", active=""))
    assert "Sie können sich nicht selbst deaktivieren." in field_errors(body(deactivated))
    with database.session() as session:
        user = find_user(session, "admin")
        assert user.role is Role.ADMIN and user.active
    assert "Das ist Ihr eigenes Konto" in body(admin.get(f"/admin/users/{me}"))


def test_an_admin_resets_a_password_with_the_policy(client_for, panel_app, database):
    target = user_id(database, "reviewer")
    short = post(
        client_for("admin"),
        f"/admin/users/{target}/password",
        {"password": "kurz", "password_repeat": "kurz"},
    )
    assert "Das Passwort braucht mindestens 10 Zeichen." in field_errors(body(short))
    both = post(  # a short password and a differing repeat are named at once
        client_for("admin"),
        f"/admin/users/{target}/password",
        {"password": "kurz", "password_repeat": "anders"},
    )
    assert both.status_code == 422
    assert field_errors(body(both), "password") == ["Das Passwort braucht mindestens 10 Zeichen."]
    assert field_errors(body(both), "password_repeat") == [
        "Die beiden Passwörter stimmen nicht überein."
    ]
    reviewer = client_for("reviewer")
    done = post(
        client_for("admin"),
        f"/admin/users/{target}/password",
        {"password": "ganz neues Passwort", "password_repeat": "ganz neues Passwort"},
    )
    assert done.status_code == 302
    assert reviewer.get("/").status_code == 302  # signed out everywhere
    assert login(panel_app.test_client(), "reviewer", "ganz neues Passwort").status_code == 302


def test_the_user_list_searches_and_escapes(client_for, database):
    with database.session() as session:
        find_user(session, "viewer").display_name = "<img src=x onerror=alert(1)>"
    html = body(client_for("admin").get("/admin/users?q=view"))  # reviewer, viewer
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert re.findall(r'class="row-title"[^>]*>([^<]+)<', html) == ["reviewer", "viewer"]
    endless = client_for("admin").get("/admin/users", query_string={"q": "view" * 250_000})
    assert endless.status_code == 200  # searched for its first 200 characters, never a 500


# -- groups -----------------------------------------------------------------------------------


def group_form(database, *members: str, **changes) -> dict:
    return {
        "name": "Lager",
        "description": "bekommt die Lagerwarnungen",
        "members": [user_id(database, member) for member in members],
        **changes,
    }


def stored_group(database, name: str):
    """The group's (description, usernames of its members), or None."""
    with database.session() as session:
        group = session.scalar(select(UserGroup).where(UserGroup.name == name))
        if group is None:
            return None
        return group.description, sorted(user.username for user in group.members)


def group_id(database, name: str) -> int:
    with database.session() as session:
        return session.scalar(select(UserGroup.id).where(UserGroup.name == name))


def test_an_admin_creates_a_group_with_members_and_it_is_listed_and_audited(client_for, database):
    admin = client_for("admin")
    form = admin.get("/admin/groups/new")
    assert form.status_code == 200 and 'name="members"' in body(form)
    response = post(
        admin, "/admin/groups/new", group_form(database, "viewer", "reviewer", name="Lager")
    )
    assert response.status_code == 302
    assert stored_group(database, "Lager") == ("bekommt die Lagerwarnungen", ["reviewer", "viewer"])
    with database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user_group.create"))
        assert (entry.target_type, entry.summary) == ("user_group", "Lager")
        assert entry.details["members"] == ["reviewer", "viewer"]
    listing = body(admin.get("/admin/groups"))
    row = re.search(r'class="row-title"[^>]*>Lager</a>.*?</tr>', listing, re.S).group(0)
    assert '<td class="num">2</td>' in row and "bekommt die Lagerwarnungen" in row
    assert "Gruppe angelegt" in body(admin.get("/admin/audit"))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Bitte ausfüllen."),
        ({"name": "x" * 101}, "name", "Höchstens 100 Zeichen."),
        ({"name": "Druck"}, "name", "Dieser Name ist bereits vergeben."),
        ({"description": "x" * 2001}, "description", "Höchstens 2000 Zeichen."),
    ],
)
def test_a_refused_group_is_explained_next_to_the_field_and_nothing_is_stored(
    client_for, database, changes, field, message
):
    admin = client_for("admin")
    for name in ("Druck", "Andere"):
        assert post(admin, "/admin/groups/new", group_form(database, name=name)).status_code == 302
    response = post(admin, "/admin/groups/new", group_form(database, "viewer", **changes))
    assert response.status_code == 422
    assert field_errors(body(response), field) == [message]
    # an existing group keeps what it had
    other = group_id(database, "Andere")
    data = {"name": "Andere", **changes}
    refused = post(admin, f"/admin/groups/{other}", group_form(database, "viewer", **data))
    assert refused.status_code == 422 and field_errors(body(refused), field) == [message]
    assert stored_group(database, "Andere") == ("bekommt die Lagerwarnungen", [])
    with database.session() as session:
        assert sorted(session.scalars(select(UserGroup.name))) == ["Andere", "Druck"]
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_members_that_are_not_offered_are_left_out_never_a_500(client_for, database):
    admin = client_for("admin")
    data = group_form(database, "viewer", name="Lager")
    data["members"] = [*data["members"], "999999", "abc", "-1", "1" * 40]
    assert post(admin, "/admin/groups/new", data).status_code == 302
    assert stored_group(database, "Lager") == ("bekommt die Lagerwarnungen", ["viewer"])
    assert admin.get("/admin/groups/999999").status_code == 404
    assert post(admin, "/admin/groups/999999/delete").status_code == 404


def test_an_admin_renames_a_group_and_changes_its_members_and_the_log_says_what_changed(
    client_for, database
):
    admin = client_for("admin")
    post(admin, "/admin/groups/new", group_form(database, "viewer", "reviewer", name="Lager"))
    group = group_id(database, "Lager")
    page = body(admin.get(f"/admin/groups/{group}"))
    assert set(re.findall(r'name="members" value="(\d+)" checked', page)) == {
        str(user_id(database, "reviewer")),
        str(user_id(database, "viewer")),
    }
    response = post(
        admin, f"/admin/groups/{group}", group_form(database, "manager", name="Versand")
    )
    assert response.status_code == 302
    assert stored_group(database, "Versand") == ("bekommt die Lagerwarnungen", ["manager"])
    with database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user_group.update"))
        assert entry.details == {
            "name": ["Lager", "Versand"],
            "members": [["reviewer", "viewer"], ["manager"]],
        }
    log = body(admin.get("/admin/audit"))
    assert "Name: Lager → Versand" in log and "Mitglieder: reviewer, viewer → manager" in log
    history = body(admin.get(f"/admin/groups/{group}"))
    assert "Änderungen an dieser Gruppe" in history and "Gruppe geändert" in history
    again = post(
        admin, f"/admin/groups/{group}", group_form(database, "manager", name="Versand"),
        follow_redirects=True,
    )  # fmt: skip
    assert "Nichts geändert." in body(again)
    post(admin, f"/admin/groups/{group}", group_form(database, name="Versand"))
    assert "Mitglieder: manager → niemand" in body(admin.get("/admin/audit"))


def test_an_inactive_member_stays_until_their_box_is_cleared(client_for, database):
    admin = client_for("admin")
    post(admin, "/admin/groups/new", group_form(database, "viewer", "reviewer", name="Lager"))
    with database.session() as session:
        find_user(session, "viewer").active = False
    group = group_id(database, "Lager")
    page = body(admin.get(f"/admin/groups/{group}"))
    assert "(deaktiviert)" in page
    post(admin, f"/admin/groups/{group}", group_form(database, "viewer", "reviewer", name="Lager"))
    assert stored_group(database, "Lager")[1] == ["reviewer", "viewer"]
    post(admin, f"/admin/groups/{group}", group_form(database, "reviewer", name="Lager"))
    assert stored_group(database, "Lager")[1] == ["reviewer"]
    assert "(deaktiviert)" not in body(admin.get(f"/admin/groups/{group}"))


def test_a_name_taken_at_the_same_moment_is_a_conflict_and_nothing_is_stored(client_for, database):
    def take_the_name_first(session: Session, *_flush) -> None:
        wanted = [g for g in session.new if isinstance(g, UserGroup) and g.name == "Lager"]
        if wanted and not clashes:
            clashes.append(True)  # first: the other session's flush calls this too
            with database.session() as other:
                other.add(UserGroup(name="Lager", description="die andere"))

    clashes: list[bool] = []
    event.listen(Session, "before_flush", take_the_name_first)
    try:
        response = post(
            client_for("admin"), "/admin/groups/new", group_form(database, name="Lager")
        )
    finally:
        event.remove(Session, "before_flush", take_the_name_first)
    assert clashes and response.status_code == 409
    assert stored_group(database, "Lager") == ("die andere", [])
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_group_that_stock_lines_name_is_not_deleted_until_nothing_uses_it(client_for, database):
    from plugins.processes.models import Stock, StockLine

    admin = client_for("admin")
    post(admin, "/admin/groups/new", group_form(database, "viewer", name="Lager"))
    group = group_id(database, "Lager")
    with database.session() as session:
        stock = Stock(name="Hauptlager")
        session.add_all([StockLine(stock=stock, name=name, alert_group_id=group)
                         for name in ("Kuvert", "Papier")])  # fmt: skip
    listing = body(admin.get("/admin/groups"))
    assert "Artikel: 2" in listing
    page = body(admin.get(f"/admin/groups/{group}"))
    assert "wird noch verwendet (Artikel: 2)" in page
    refused = post(admin, f"/admin/groups/{group}/delete", follow_redirects=True)
    assert "„Lager“ wird noch verwendet (Artikel: 2) und wurde nicht gelöscht." in body(refused)
    assert stored_group(database, "Lager") is not None
    with database.session() as session:
        for line in session.scalars(select(StockLine)):
            line.alert_group_id = None
    deleted = post(admin, f"/admin/groups/{group}/delete", follow_redirects=True)
    assert "„Lager“ wurde gelöscht." in body(deleted)
    assert stored_group(database, "Lager") is None
    with database.session() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user_group.delete"))
        assert (entry.target_id, entry.summary) == (str(group), "Lager")
        assert entry.details == {"members": ["viewer"]}
    assert "Gruppe gelöscht" in body(admin.get("/admin/audit"))


def test_every_table_that_can_use_a_group_is_named_in_german_and_english(panel_app):
    """The list and the refused deletion name what uses a group by the catalog of the package
    that owns the table, never by the table's name."""
    tables = {column.table.name for column in group_columns()}
    assert {"stock_lines", "approval_reviewers"} <= tables
    bundle = Path(__file__).resolve().parent.parent / "plugins" / "processes" / "translations"
    for language in ("de", "en"):
        found = catalog_ids(PANEL_CATALOGS, language) | catalog_ids(bundle, language)
        assert {USED_BY + table for table in tables} <= found, language


# -- plugins ----------------------------------------------------------------------------------


def test_the_plugin_page_shows_registrations_disabled_plugins_and_load_errors(
    settings, panel_users
):
    plugins = load_plugins(
        disabled=["plugins.actions.sms"],
        modules=(*DEFAULT_PLUGINS, "plugins.does_not_exist"),
        entry_points=False,
    )
    app = create_app(
        settings, plugins=plugins, overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"}
    )
    try:
        client = app.test_client()
        login(client, "admin", PASSWORD)
        html = body(client.get("/admin/plugins"))
        assert "plugins.actions.print_reports" in html and "print_reports" in html
        assert "Berichte drucken" in html  # the registered class's title
        assert "Abgeschaltet mit CAMPAIGN_DISABLE_PLUGINS: plugins.actions.sms" in html
        assert "plugins.does_not_exist" in html and "import failed: ModuleNotFoundError" in html
        described = plugins.describe()
        for plugin in described["plugins"]:
            assert plugin["name"] in html
    finally:
        get_campaign(app).database.dispose()


# -- queues -----------------------------------------------------------------------------------


@pytest.fixture
def failed_job(settings, redis_url) -> str:
    """A job that really failed in a real worker: int("kein Betrag")."""
    connection = Redis.from_url(redis_url)
    queue = Queue("default", connection=connection)
    job = queue.enqueue("builtins.int", "kein Betrag")
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert FailedJobRegistry(queue=queue).get_job_ids() == [job.id]
    connection.close()
    return job.id


def test_queues_workers_and_failed_jobs_are_shown(client_for, failed_job):
    html = body(client_for("admin").get("/admin/queues"))
    assert "Fehlgeschlagene Jobs in „default“" in html
    assert failed_job in html and "builtins.int" in html
    assert "ValueError: invalid literal for int() with base 10: &#39;kein Betrag&#39;" in html
    assert "1 fehlgeschlagen" in html
    assert "Kein Worker läuft" in html


def test_a_running_worker_is_shown_also_after_redis_lost_its_registration(
    client_for, engine, redis_url, tmp_path
):
    """A real ``campaign worker`` is listed; when Redis loses the registry of workers (its
    database emptied, a restart without its data), the worker's next heartbeat registers
    it again instead of leaving "no worker running" on the page while it works."""
    admin = client_for("admin")
    connection = Redis.from_url(redis_url)
    log = tmp_path / "worker.log"
    worker = engine.start_worker_process(log)

    def shown() -> str | None:
        html = body(admin.get("/admin/queues"))
        return html if "Kein Worker läuft" not in html else None

    try:
        wait_for(shown, "the started worker on the queue page", log=log)
        connection.delete(*connection.keys("rq:worker*"))  # a heartbeat may come any time now
        Queue("default", connection=connection).enqueue("builtins.len", "abc")
        html = wait_for(
            lambda: (page := shown()) and "1 / 0" in page and page,  # one job done since
            "the worker on the page again with the job it did",
            log=log,
        )
        assert "urgent, default, bulk" in html
    finally:
        stop_group(worker)
        connection.close()


def test_a_failed_job_is_requeued_and_audited(client_for, database, failed_job, redis_url):
    response = post(
        client_for("admin"),
        "/admin/queues/requeue",
        {"queue": "default", "job": failed_job},
        follow_redirects=True,
    )
    assert f"Job {failed_job} wurde erneut eingereiht." in body(response)
    queue = Queue("default", connection=Redis.from_url(redis_url))
    assert queue.job_ids == [failed_job]
    assert FailedJobRegistry(queue=queue).count == 0
    with database.session() as session:
        assert session.scalar(
            select(AuditEntry.target_id).where(AuditEntry.action == "job.requeue")
        ) == (failed_job)
    again = post(
        client_for("admin"),
        "/admin/queues/requeue",
        {"queue": "default", "job": failed_job},
        follow_redirects=True,
    )
    assert "ist kein fehlgeschlagener Job mehr" in body(again)


def test_a_failed_job_is_deleted(client_for, failed_job, redis_url):
    response = post(
        client_for("admin"),
        "/admin/queues/delete",
        {"queue": "default", "job": failed_job},
        follow_redirects=True,
    )
    assert f"Job {failed_job} wurde gelöscht." in body(response)
    connection = Redis.from_url(redis_url)
    assert FailedJobRegistry(queue=Queue("default", connection=connection)).count == 0
    assert not connection.exists(f"rq:job:{failed_job}")


def test_a_bad_job_form_is_refused_with_the_fields_message(client_for, failed_job, redis_url):
    admin = client_for("admin")
    for data, message in (
        ({"queue": "nope", "job": "x"}, "Warteschlange: „nope“ steht nicht zur Auswahl."),
        ({"queue": "default", "job": " "}, "Job: Bitte ausfüllen."),
    ):
        response = post(admin, "/admin/queues/delete", data, follow_redirects=True)
        assert response.status_code == 200 and message in body(response)
    connection = Redis.from_url(redis_url)
    assert FailedJobRegistry(queue=Queue("default", connection=connection)).count == 1


def test_an_unreachable_redis_is_explained(settings, panel_users):
    unreachable = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0")
    app = create_app(
        unreachable,
        plugins=load_plugins(entry_points=False),
        overrides={"TESTING": True, "CAMPAIGN_LOGIN_LIMITER": "memory"},
    )
    try:
        client = app.test_client()
        login(client, "admin", PASSWORD)
        response = client.get("/admin/queues")
        assert response.status_code == 503
        assert "Redis ist nicht erreichbar" in body(response)
        assert "?" in body(client.get("/"))  # the dashboard still works, count unknown
    finally:
        get_campaign(app).database.dispose()


# -- audit log --------------------------------------------------------------------------------


def test_the_audit_log_filters_by_actor_action_and_target(client_for, database):
    with database.session() as session:
        record_audit(session, "manager", "report.update", "report", 7, "Einladung geändert")
        record_audit(session, "manager", "contact.consent", "contact", 3, "<b>opt-out</b>")
        record_audit(session, "admin", "report.delete", "report", 8, "Alt gelöscht")
    admin = client_for("admin")

    def summaries(query: str) -> list[str]:
        html = body(admin.get(f"/admin/audit{query}"))
        return re.findall(r"<td>([^<]*(?:geändert|gelöscht|opt-out[^<]*))</td>", html)

    assert summaries("?actor=manager&action=report.") == ["Einladung geändert"]
    assert summaries("?target_type=report&target_id=8") == ["Alt gelöscht"]
    assert "&lt;b&gt;opt-out&lt;/b&gt;" in body(admin.get("/admin/audit?action=contact"))


def test_audit_actions_and_targets_are_named_in_the_readers_language_next_to_their_codes(
    client_for, database
):
    """The codes stay visible (administrators filter by them); an action of a plugin is named
    by the plugin's catalog, a code no catalog names is shown as it is."""
    with database.session() as session:
        record_audit(session, "manager", "run.start", "run", 11, "Herbst")
        record_audit(session, "manager", "webhook.create", "webhook", 2, "https://example.org/")
        record_audit(session, "manager", "acme.sync", "acme_thing", 5, "Fremd")
    admin = client_for("admin")
    german = body(admin.get("/admin/audit"))
    assert '<span class="badge badge-muted">Lauf gestartet</span>' in german
    assert '<span class="row-sub mono" translate="no">run.start</span>' in german
    assert 'Lauf <span translate="no">#11</span>' in german
    assert "Webhook angelegt" in german and 'Webhook <span translate="no">#2</span>' in german
    assert 'translate="no">acme.sync</span>' in german
    assert 'translate="no">acme_thing #5</span>' in german
    assert 'placeholder="Aktion wählen oder Anfang ihres Codes eingeben"' in german
    assert '<option value="run.start" label="Lauf gestartet">' in german
    assert '<option value="webhook" label="Webhook">' in german
    assert "z. B. report." not in german
    assert "Lauf gestartet" in body(admin.get("/admin/"))
    filtered = body(admin.get("/admin/audit?action=run.&target_type=run"))
    assert ">Lauf gestartet</span>" in filtered and ">Webhook angelegt</span>" not in filtered
    with database.session() as session:
        session.get(User, user_id(database, "admin")).language = "en"
    english = body(admin.get("/admin/audit"))
    assert '<span class="badge badge-muted">Run started</span>' in english
    assert 'Run <span translate="no">#11</span>' in english
    assert "Webhook created" in english
    assert 'placeholder="Pick a target type"' in english


def test_every_audit_action_and_target_written_has_a_title_in_its_packages_catalogs():
    """Each literal action and target kind of a ``record_audit`` or ``api_audit`` call is named
    in German and English by the catalog of the package that writes it, or by the panel's (a
    campaign is the panel's target, whoever writes about it)."""
    root = Path(__file__).resolve().parent.parent
    written = 0
    for source in sorted([*root.glob("core/**/*.py"), *root.glob("webapp/**/*.py"),
                          *root.glob("plugins/**/*.py")]):  # fmt: skip
        package = source.relative_to(root).parts
        catalogs = root / "plugins" / package[1] / "translations"
        if package[0] != "plugins":
            catalogs = PANEL_CATALOGS
        for call in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            name = getattr(call, "func", None)
            name = getattr(name, "id", getattr(name, "attr", None))
            first = {"record_audit": 2, "api_audit": 0, "audit": 0}.get(name)
            if first is None or len(call.args) < first + 2:
                continue
            action, target = call.args[first : first + 2]
            for prefix, code in (("audit.action.", action), ("audit.target.", target)):
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    written += 1
                    for language in ("de", "en"):
                        found = catalog_ids(catalogs, language) | catalog_ids(
                            PANEL_CATALOGS, language
                        )
                        assert prefix + code.value in found, (source.name, code.value, language)
    assert written > 100


def test_an_audit_summary_is_shown_in_the_readers_language(client_for, database):
    """A summary stored as a message reads in German or English, whatever the writer spoke;
    an entry written before summaries were stored that way is shown as written."""
    from core.messages import stored

    with database.session() as session:
        record_audit(
            session,
            "manager",
            "archive.delete",
            "run",
            3,
            stored("{count} documents deleted", count=1200),
        )
        session.add(AuditEntry(actor="manager", action="run.start", target_type="campaign",
                               target_id="7", summary="Herbst: run #3 (dry run)"))  # fmt: skip
    admin = client_for("admin")
    german = body(admin.get("/admin/audit"))
    assert "1.200 Dokumente gelöscht" in german and "Herbst: run #3 (dry run)" in german
    with database.session() as session:
        session.get(User, user_id(database, "admin")).language = "en"
    assert "1,200 documents deleted" in body(admin.get("/admin/audit"))
