"""The query editor ("queries and lists"): build a query from the field tree, see its count,
its SQL and its result (each record, or each group with its aggregates), export it as CSV,
save it, and hand it to a campaign.

The definition travels as JSON in the form field ``definition``; ``query_editor.js`` builds
it in the browser (nested AND/OR blocks), and without JavaScript the JSON is edited as text.
The server always checks it with ``core.query`` and names the condition, field and value of
any problem.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import Select, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from core.audit import record_audit
from core.documents.csv_export import CsvDialect, CsvWriter, spreadsheet_dialect
from core.messages import StoredText, stored
from core.models import Campaign, Role, SavedQuery
from core.query import (
    AGGREGATE_TYPES,
    ALLOWED_TYPES,
    ENTITIES,
    MAX_JSON_DEPTH,
    CompiledAggregate,
    CompiledQuery,
    ConditionType,
    FieldType,
    QueryError,
    QueryJsonError,
    QueryTooDeepError,
    compile_query,
    get_entity,
    load_json,
    resolve_path,
)
from core.query.entities import MAX_DEPTH, ResolvedField
from webapp.context import current_user, db_session, get_campaign, get_plugins
from webapp.formatting import format_date, format_datetime, format_number
from webapp.forms import ChoiceField, FlagField, PanelForm, TextField, WholeNumberField
from webapp.i18n import (
    DEFAULT_LANGUAGE,
    PANEL_CATALOGS,
    catalog_ids,
    get_language,
    stored_text,
    t,
    tn,
)
from webapp.pagination import page_arguments, paginate, search_argument, search_condition
from webapp.saved_queries import QueryNameTakenError, save_query
from webapp.schema_forms import root_spec
from webapp.security import has_role, role_required

bp = Blueprint(
    "queries",
    __name__,
    url_prefix="/queries",
    template_folder="templates",
    static_folder="static",
)

PREVIEW_PAGE_SIZE = 25
LIST_PAGE_SIZE = 25
EXPORT_BATCH = 1000
QUERY_OPTION_SOURCES = ("saved_queries", "distribution_lists")
"""Settings fields marked with these ``x-options`` hold a saved query's id."""
SEPARATOR = " \u203a "
"""Between the steps of a path in titles and error locations (a single right angle quote)."""
DEFAULT_DEFINITION = {"root": "contacts", "where": {"op": "and", "conditions": []}}
CHOICE_TITLES = {
    ("contacts", "kind"): "contacts.kind.",
    ("contacts", "status"): "contacts.status.",
    ("contacts", "preferred_channel"): "contacts.channel.",
    ("contracts", "status"): "contacts.contract.status.",
}
"""The catalog keys, before the stored value, that the contact pages show each choice by."""


def _username() -> str:
    user = current_user()
    assert user is not None
    return user.username


def field_title(root: str, path: str) -> str:
    """``Vertriebspartner / Name`` for ``partner.name`` on contacts, in the user's language."""
    try:
        resolved = resolve_path(root, path)
    except QueryError:
        return path
    parts = [t(relation.title) for relation in resolved.relations]
    parts.append(t(resolved.field.title))
    return SEPARATOR.join(parts)


def choice_key(entity: str, field: str, value: str) -> str:
    """The catalog key of a choice field's value; the value itself for a field without one."""
    prefix = CHOICE_TITLES.get((entity, field))
    return value if prefix is None else prefix + value


def field_tree(root: str, depth: int = 2) -> list[dict[str, Any]]:
    """Fields and relations of ``root`` as plain data for the editor's field picker.

    Relations are followed ``depth`` levels deep (at most ``MAX_DEPTH``); the way straight
    back (contract → contact → contracts) is left out, it only leads to the same records.
    """
    get_entity(root)
    return _tree(root, "", min(depth, MAX_DEPTH), None)


def _tree(entity_name: str, prefix: str, depth: int, came_by: str | None) -> list[dict[str, Any]]:
    entity = ENTITIES[entity_name]
    nodes: list[dict[str, Any]] = []
    for spec in entity.fields.values():
        node: dict[str, Any] = {
            "kind": "field",
            "name": spec.name,
            "path": prefix + spec.name,
            "title": spec.title,
            "type": spec.type.value,
        }
        if spec.choices is not None:
            node["choices"] = [
                {"value": value, "title": choice_key(entity_name, spec.name, value)}
                for value in spec.choices
            ]
        nodes.append(node)
    if depth <= 0:
        return nodes
    for relation in entity.relations.values():
        if relation.name != came_by:
            children = _tree(
                relation.target, f"{prefix}{relation.name}.", depth - 1, relation.inverse
            )
            nodes.append(
                {
                    "kind": "relation",
                    "name": relation.name,
                    "path": prefix + relation.name,
                    "title": relation.title,
                    "target": relation.target,
                    "to_many": relation.to_many,
                    "children": children,
                }
            )
    return nodes


def shown_sql(compiled: CompiledQuery, dialect_name: str, limit: int | None = None) -> str:
    """The result list's SQL with the values written in, for display only (never run it)."""
    dialects = {"sqlite": sqlite.dialect, "postgresql": postgresql.dialect}
    if dialect_name not in dialects:
        raise QueryError(
            stored(
                "unknown SQL dialect '{dialect}'; known: sqlite, postgresql",
                dialect=dialect_name,
            )
        )
    # "named": a pyformat dialect would print every % of a LIKE pattern twice
    dialect = dialects[dialect_name](paramstyle="named")
    statement = result_statement(compiled, limit)
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


# ---------------------------------------------------------------------------------------------
# Errors that name the condition, the field and the value

_STEP = re.compile(r"conditions\[(\d+)\]")
_GROUPING = re.compile(r"(group_by|aggregates)(?:\[(\d+)\])?")
_GROUPING_PLACES = {
    "group_by": "queries.error.group_field",
    "aggregates": "queries.error.aggregate",
}


def describe_error(error: QueryError, definition: Mapping[str, Any] | None) -> str:
    """The compiler's message with its location told in the editor's words: "Bedingung 2 in
    Block 1 (Feld „Stadt“, „beginnt mit“), Wert 1: ..."."""
    location = error.location or ""
    grouping = _GROUPING.match(location)
    if grouping:  # "Kennzahl 2: Summe passt nicht zum Feld „city“ ..."
        kind, index = grouping.groups()
        place = (
            t(_GROUPING_PLACES[kind], n=int(index) + 1) if index else t("queries.error.grouping")
        )
        return f"{place}: {_reason(error.reason)}"
    if not location.startswith("where") or not isinstance(definition, Mapping):
        return stored_text(error.text)
    node: Any = definition.get("where")
    steps = []
    for match in _STEP.finditer(location):
        index = int(match.group(1))
        conditions = node.get("conditions") if isinstance(node, Mapping) else None
        if not isinstance(conditions, list) or index >= len(conditions):
            break
        node = conditions[index]
        is_block = isinstance(node, Mapping) and ("conditions" in node or "op" in node)
        steps.append(
            t("queries.error.block" if is_block else "queries.error.condition", n=index + 1)
        )
    where = SEPARATOR.join(steps) or t("queries.error.where")
    if isinstance(node, Mapping) and "field" in node:
        root = str(definition.get("root", ""))
        label = field_title(root, str(node.get("field"))) if root in ENTITIES else node["field"]
        where += f" ({t('queries.error.field', field=label)}"
        if node.get("type") in ConditionType.__members__.values():
            where += f", {t('queries.type.' + str(node['type']))}"
        where += ")"
    value = re.search(r"values\[(\d+)\]", location)
    if value:
        where += f", {t('queries.error.value', n=int(value.group(1)) + 1)}"
    return f"{where}: {_reason(error.reason)}"


def _reason(reason: StoredText) -> str:
    """The compiler's reason with the condition types and aggregate functions it names by
    their titles ("liegt zwischen braucht genau 2 Werte", "Summe braucht ein Feld"); the API
    keeps their codes."""
    titles = {
        name: t("queries.type." + value)
        if isinstance(value, str)
        else [t("queries.type." + code) for code in value]
        for name, value in reason.params.items()
        if name in ("type", "allowed")
    }
    function = reason.params.get("function")
    if function in AGGREGATE_TYPES:
        titles["function"] = t(f"queries.function.{function}")
    return stored_text(replace(reason, params={**reason.params, **titles}))


# ---------------------------------------------------------------------------------------------
# The editor's state


def _parse(text: str) -> tuple[CompiledQuery | None, dict[str, Any] | None, str | None]:
    """The compiled query, the JSON as sent, and the error in the editor's words."""
    try:
        raw = load_json(text)
    except QueryTooDeepError:
        return None, None, t("queries.error.too_deep", limit=MAX_JSON_DEPTH)
    except QueryJsonError as exc:
        return None, None, t("queries.error.json", reason=stored_text(exc.json_problem))
    try:
        return compile_query(raw), raw, None
    except QueryError as exc:
        return None, raw if isinstance(raw, dict) else None, describe_error(exc, raw)


def _cell(value: Any, resolved: ResolvedField) -> str:
    """A result's value as the reader's language writes it; a choice field's by its title."""
    if value is None:
        return ""
    if resolved.type is FieldType.CHOICE:
        return t(choice_key(resolved.entity.name, resolved.field.name, str(value)))
    if isinstance(value, bool):
        return t("queries.yes") if value else t("queries.no")
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Decimal | float):
        return format_number(value, 2)
    if isinstance(value, int):
        return str(value)
    return str(getattr(value, "value", value))


def aggregate_title(root: str, aggregate: CompiledAggregate) -> str:
    """``Summe von Betrag`` for ``sum`` of ``amount``, ``Anzahl`` for ``count``."""
    if aggregate.field is None:
        return t("queries.aggregate.count")
    title = field_title(root, aggregate.field.path)
    return t(f"queries.aggregate.{aggregate.function}", field=title)


def _figure(value: Any, aggregate: CompiledAggregate) -> str:
    """An aggregate's value as its field's values are written (a count as a whole number)."""
    if aggregate.field is None or value is None:
        return "" if value is None else str(value)
    return _cell(value, aggregate.field)


def result_statement(compiled: CompiledQuery, limit: int | None = None) -> Select[Any]:
    """The result's SELECT: one row per record, or per group for a grouped query."""
    return compiled.select_groups(limit) if compiled.grouped else compiled.select_rows(limit)


def result_columns(compiled: CompiledQuery) -> list[tuple[str, Callable[[Any], str]]]:
    """Each column's title and how it writes its values, in the order of ``result_statement``:
    the output fields, or the group fields and then the aggregates."""
    root = compiled.root.name
    fields = compiled.group_by if compiled.grouped else compiled.output
    columns: list[tuple[str, Callable[[Any], str]]] = [
        (field_title(root, field.path), functools.partial(_cell, resolved=field))
        for field in fields
    ]
    columns += [
        (aggregate_title(root, aggregate), functools.partial(_figure, aggregate=aggregate))
        for aggregate in compiled.aggregates
    ]
    return columns


def _written(row: Sequence[Any], columns: list[tuple[str, Callable[[Any], str]]]) -> list[str]:
    return [write(value) for value, (_title, write) in zip(row, columns, strict=True)]


def _preview(compiled: CompiledQuery, page_number: int) -> dict[str, Any]:
    session = db_session()
    columns = result_columns(compiled)
    page = paginate(session, result_statement(compiled), page_number, PREVIEW_PAGE_SIZE)
    return {
        "count": page.total,
        "grouped": compiled.grouped,
        "sql": shown_sql(compiled, session.get_bind().dialect.name, PREVIEW_PAGE_SIZE),
        "columns": [title for title, _write in columns],
        # paginate hands single-column results back as plain values
        "rows": [_written(row if len(columns) > 1 else (row,), columns) for row in page.items],
        "page": page,
    }


def _render(
    saved: SavedQuery | None,
    definition_text: str,
    values: Mapping[str, Any],
    *,
    preview_page: int | None = 1,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    compiled, _raw, query_error = _parse(definition_text)
    preview = _preview(compiled, preview_page) if compiled and preview_page else None
    page = render_template(
        "queries/editor.html",
        saved=saved,
        definition=definition_text,
        values=values,
        query_error=query_error,
        preview=preview,
        errors=errors or {},
        usage=_campaigns_using(saved.id) if saved else [],
    )
    return page, 422 if (query_error or errors) and status == 200 else status


MAX_DEFINITION = 1_000_000
"""Characters of a query definition the editor takes."""
INTENTS = ("preview", "save", "campaign_dynamic")
"""The editor's buttons that post to it (the static campaign's button posts to the campaign)."""


class QueryForm(PanelForm):
    """The editor: the definition, the saved query's own fields, the pressed button and the
    preview's page."""

    definition = TextField(max_length=MAX_DEFINITION)
    name = TextField(max_length=200)
    description = TextField(max_length=5000)
    is_distribution_list = FlagField()
    intent = ChoiceField(coerce=str)
    page = WholeNumberField(minimum=1)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.intent.choices = [(intent, intent) for intent in INTENTS]

    def control_problem(self) -> str | None:
        """The problem of the definition, the button or the page (not of the saved query's
        fields, shown next to them), as a flash says it."""
        labels = {
            "definition": t("queries.json"),
            "intent": t("forms.button"),
            "page": t("pagination.page"),
        }
        for name, label in labels.items():
            if self[name].errors:
                return t("forms.field_problem", field=label, problem=self[name].errors[0])
        return None


# ---------------------------------------------------------------------------------------------
# Which campaigns use a saved query


def _query_fields() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(data source, settings field) pairs whose value is a saved query's id, and those whose
    value is a list of them (``combined``'s queries)."""
    single, lists = [], []
    for cls in get_plugins().datasources:
        spec = root_spec(cls.params_schema())
        for name, prop in spec.properties.items():
            if prop.options in QUERY_OPTION_SOURCES:
                (lists if prop.kind == "lines" else single).append((cls.name, name))
    return single, lists


def _campaigns_using(saved_query_id: int) -> list[tuple[int, str]]:
    single, lists = _query_fields()
    conditions = [
        (Campaign.datasource == source)
        & (Campaign.datasource_settings[name].as_integer() == saved_query_id)
        for source, name in single
    ]
    using = set()
    if conditions:
        using.update(db_session().scalars(select(Campaign.id).where(or_(*conditions))))
    for source, name in lists:  # the few campaigns on such a source, read through
        rows = db_session().execute(
            select(Campaign.id, Campaign.datasource_settings).where(Campaign.datasource == source)
        )
        using.update(
            row.id for row in rows if saved_query_id in row.datasource_settings.get(name, [])
        )
    if not using:
        return []
    rows = db_session().execute(
        select(Campaign.id, Campaign.name).where(Campaign.id.in_(using)).order_by(Campaign.name)
    )
    return [(row.id, row.name) for row in rows]


# ---------------------------------------------------------------------------------------------
# Views


@bp.get("/")
@role_required(Role.VIEWER)
def index() -> str:
    search = search_argument(request.args)
    query = select(SavedQuery)
    if search:
        query = query.where(search_condition(search, SavedQuery.name))
    if request.args.get("lists") == "1":
        query = query.where(SavedQuery.is_distribution_list)
    number, _size = page_arguments(request.args)
    page = paginate(
        db_session(), query.order_by(SavedQuery.name, SavedQuery.id), number, LIST_PAGE_SIZE
    )
    return render_template(
        "queries/index.html",
        page=page,
        search=search,
        entity_titles={name: t(spec.title) for name, spec in ENTITIES.items()},
    )


@bp.get("/new")
@role_required(Role.VIEWER)
def new() -> tuple[str, int]:
    return _render(
        None,
        json.dumps(DEFAULT_DEFINITION),
        {"name": "", "description": "", "is_distribution_list": False},
        preview_page=None,
    )


def _load(saved_query_id: int) -> SavedQuery:
    saved = db_session().get(SavedQuery, saved_query_id)
    if saved is None:
        abort(404)
    return saved


@bp.get("/<int:saved_query_id>")
@role_required(Role.VIEWER)
def edit(saved_query_id: int) -> tuple[str, int]:
    saved = _load(saved_query_id)
    number, _size = page_arguments(request.args)
    return _render(
        saved,
        json.dumps(saved.definition, ensure_ascii=False),
        {
            "name": saved.name,
            "description": saved.description,
            "is_distribution_list": saved.is_distribution_list,
        },
        preview_page=number,
    )


@bp.post("/new")
@role_required(Role.VIEWER)
def submit_new() -> Response | tuple[str, int]:
    return _submit(None)


@bp.post("/<int:saved_query_id>")
@role_required(Role.VIEWER)
def submit(saved_query_id: int) -> Response | tuple[str, int]:
    return _submit(_load(saved_query_id))


def _submit(saved: SavedQuery | None) -> Response | tuple[str, int]:
    """Preview (any role), or save / hand to a campaign (campaign managers)."""
    form = QueryForm()
    form.validate()
    values = form.values
    definition = form.definition.data
    problem = form.control_problem()
    if problem:
        flash(problem, "error")
        return _render(saved, definition, values, preview_page=None, status=422)
    intent = form.intent.data or "preview"
    page = form.page.data or 1
    if intent == "preview":
        return _render(saved, definition, values, preview_page=page)
    if not has_role(Role.CAMPAIGN_MANAGER):
        abort(403)
    compiled, _raw, _error = _parse(definition)
    if not form.name.data:
        form.add_error("name", t("queries.error.name_required"))
    errors = form.messages
    if compiled is None or errors:
        return _render(saved, definition, values, preview_page=page, errors=errors)
    session = db_session()
    try:
        target = save_query(
            session,
            compiled,
            name=form.name.data,
            description=form.description.data,
            is_distribution_list=form.is_distribution_list.data,
            actor=_username(),
            saved=saved,
        )
    except (QueryNameTakenError, IntegrityError):
        session.rollback()
        errors["name"] = t("queries.error.name_taken", name=form.name.data)
        return _render(saved, definition, values, preview_page=page, errors=errors)
    session.commit()
    flash(t("queries.saved", name=target.name), "success")
    if intent == "campaign_dynamic":
        return redirect(url_for("campaigns.new", saved_query_id=target.id))
    return redirect(url_for(".edit", saved_query_id=target.id))


@bp.post("/<int:saved_query_id>/delete")
@role_required(Role.CAMPAIGN_MANAGER)
def delete(saved_query_id: int) -> Response:
    saved = _load(saved_query_id)
    users = _campaigns_using(saved.id)
    if users:
        names = ", ".join(name for _id, name in users)
        flash(tn("queries.delete.refused", len(users), names=names), "error")
        return redirect(url_for(".edit", saved_query_id=saved.id))
    session = db_session()
    record_audit(
        session,
        _username(),
        "query.delete",
        "saved_query",
        saved.id,
        saved.name,
        {"definition": saved.definition},
    )
    session.delete(saved)
    session.commit()
    flash(t("queries.deleted", name=saved.name), "success")
    return redirect(url_for(".index"))


def _csv_response(compiled: CompiledQuery, filename: str) -> Response:
    """The whole result (each record, or each group of a grouped query) as CSV in the dialect
    of the user's spreadsheet (German: semicolons, UTF-8 with BOM), formula cells
    neutralised, streamed in batches so a large result never sits in memory.

    The rows are read in a session of their own, closed when the stream ends: the request's
    session is torn down as soon as the view returns, before the stream is read.
    """
    database = get_campaign().database
    columns = result_columns(compiled)

    def batches() -> Iterator[list[list[str]]]:
        yield [[title for title, _write in columns]]
        session = database.sessions()
        try:
            result = session.execute(
                result_statement(compiled).execution_options(yield_per=EXPORT_BATCH)
            )
            for batch in result.partitions():
                yield [_written(row, columns) for row in batch]
        finally:
            session.close()

    text = csv_text(batches(), spreadsheet_dialect(get_language()))
    response = Response(stream_with_context(text), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_text(batches: Iterable[Iterable[Sequence[Any]]], dialect: CsvDialect) -> Iterator[str]:
    """The file as text, one chunk per batch of rows, for a streamed download; the first
    chunk starts with the BOM when the dialect has one (the response encodes it as UTF-8)."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer, dialect)
    prefix = "\ufeff" if dialect.bom else ""
    for batch in batches:
        for row in batch:
            writer.writerow(row)
        yield prefix + buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        prefix = ""


def _export_name(name: str) -> str:
    return (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "abfrage") + ".csv"


@bp.get("/<int:saved_query_id>/export.csv")
@role_required(Role.CAMPAIGN_MANAGER)
def export_saved(saved_query_id: int) -> Response:
    saved = _load(saved_query_id)
    try:
        compiled = compile_query(saved.definition)
    except QueryError as exc:
        flash(describe_error(exc, saved.definition), "error")
        return redirect(url_for(".edit", saved_query_id=saved.id))
    _audit_export(saved.name, saved.definition)
    return _csv_response(compiled, _export_name(saved.name))


@bp.post("/export.csv")
@role_required(Role.CAMPAIGN_MANAGER)
def export() -> Response | tuple[str, int]:
    form = QueryForm()
    form.validate()
    problem = form.control_problem()
    if problem:
        flash(problem, "error")
        return _render(None, form.definition.data, form.values, preview_page=None, status=422)
    compiled, _raw, _error = _parse(form.definition.data)
    if compiled is None:
        return _render(None, form.definition.data, form.values, preview_page=1)
    name = form.values["name"]
    _audit_export(name, compiled.definition.model_dump(mode="json"))
    return _csv_response(compiled, _export_name(name))


def _audit_export(name: str, definition: Mapping[str, Any]) -> None:
    session = db_session()
    record_audit(
        session,
        _username(),
        "query.export",
        "saved_query",
        None,
        name,
        {"definition": dict(definition)},
    )
    session.commit()


@bp.get("/schema.json")
@role_required(Role.VIEWER)
def schema() -> Response:
    """What the editor's JavaScript needs: the field trees, the condition types per field
    type, the field types per aggregate, and its texts in the user's language."""

    def translate(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for node in nodes:
            node["title"] = t(node["title"])
            for choice in node.get("choices", ()):
                choice["title"] = t(choice["title"])
            if node["kind"] == "relation":
                translate(node["children"])
        return nodes

    return jsonify(
        {
            "roots": {
                name: {
                    "title": t(spec.title),
                    "fields": translate(field_tree(name)),
                }
                for name, spec in ENTITIES.items()
            },
            "types": {
                field_type.value: [c.value for c in ConditionType if c in ALLOWED_TYPES[field_type]]
                for field_type in FieldType
            },
            "type_labels": {c.value: t(f"queries.type.{c.value}") for c in ConditionType},
            "aggregates": {
                function.value: [field_type.value for field_type in field_types]
                for function, field_types in AGGREGATE_TYPES.items()
            },
            "aggregate_labels": {
                function.value: t(f"queries.function.{function.value}")
                for function in AGGREGATE_TYPES
            },
            "texts": {
                key.removeprefix("queries.js."): t(key)
                for key in sorted(catalog_ids(PANEL_CATALOGS, DEFAULT_LANGUAGE))
                if key.startswith("queries.js.")
            },
        }
    )
