"""The query builder behind "individual query" data sources, field-condition filters and the
query editor: JSON definitions (``definition``), checked against a whitelist (``entities``) and
compiled to SQLAlchemy expressions (``compiler``); ``records`` loads whole rows for actions.
"""

from core.query.compiler import ALLOWED_TYPES, CompiledQuery, compile_query, condition_expression
from core.query.definition import (
    MAX_JSON_DEPTH,
    Block,
    Condition,
    ConditionType,
    QueryDefinition,
    QueryTooDeepError,
    SortKey,
    dump_definition,
    load_json,
    parse_definition,
    parse_node,
)
from core.query.entities import (
    ENTITIES,
    MAX_DEPTH,
    EntitySpec,
    FieldSpec,
    FieldType,
    RelationSpec,
    ResolvedField,
    field_tree,
    get_entity,
    resolve_path,
)
from core.query.errors import QueryError
from core.query.records import load_records, record_fields
from core.query.saved import SavedQueryNotFound, compile_saved_query

__all__ = [
    "ALLOWED_TYPES",
    "ENTITIES",
    "MAX_DEPTH",
    "MAX_JSON_DEPTH",
    "Block",
    "CompiledQuery",
    "Condition",
    "ConditionType",
    "EntitySpec",
    "FieldSpec",
    "FieldType",
    "QueryDefinition",
    "QueryError",
    "QueryTooDeepError",
    "RelationSpec",
    "ResolvedField",
    "SavedQueryNotFound",
    "SortKey",
    "compile_query",
    "compile_saved_query",
    "condition_expression",
    "dump_definition",
    "field_tree",
    "get_entity",
    "load_json",
    "load_records",
    "parse_definition",
    "parse_node",
    "record_fields",
    "resolve_path",
]
