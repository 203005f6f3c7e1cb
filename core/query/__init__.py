"""The query builder behind "individual query" data sources, field-condition filters and the
query editor: JSON definitions (``definition``), checked against a whitelist (``entities``) and
compiled to SQLAlchemy expressions (``compiler``); ``records`` loads whole rows for actions.
"""

from core.query.compiler import (
    AGGREGATE_TYPES,
    ALLOWED_TYPES,
    CompiledAggregate,
    CompiledQuery,
    compile_query,
    condition_expression,
)
from core.query.definition import (
    MAX_AGGREGATES,
    MAX_GROUP_FIELDS,
    MAX_JSON_DEPTH,
    Aggregate,
    AggregateFunction,
    Block,
    Condition,
    ConditionType,
    QueryDefinition,
    QueryError,
    QueryJsonError,
    QueryTooDeepError,
    SortKey,
    load_json,
    parse_definition,
    parse_node,
)
from core.query.entities import (
    ENTITIES,
    EntitySpec,
    FieldType,
    get_entity,
    resolve_path,
)
from core.query.records import load_records, record_fields
from core.query.saved import SavedQueryNotFound, compile_saved_query

__all__ = [
    "AGGREGATE_TYPES",
    "ALLOWED_TYPES",
    "ENTITIES",
    "MAX_AGGREGATES",
    "MAX_GROUP_FIELDS",
    "MAX_JSON_DEPTH",
    "Aggregate",
    "AggregateFunction",
    "Block",
    "CompiledAggregate",
    "CompiledQuery",
    "Condition",
    "ConditionType",
    "EntitySpec",
    "FieldType",
    "QueryDefinition",
    "QueryError",
    "QueryJsonError",
    "QueryTooDeepError",
    "SavedQueryNotFound",
    "SortKey",
    "compile_query",
    "compile_saved_query",
    "condition_expression",
    "get_entity",
    "load_json",
    "load_records",
    "parse_definition",
    "parse_node",
    "record_fields",
    "resolve_path",
]
