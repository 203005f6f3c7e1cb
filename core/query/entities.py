"""The whitelist of what a stored query may touch.

A query names entities and fields as strings; only names listed here ever select a column,
so a query can never reach a table or column (passwords, internal keys, JSON blobs) that is
not meant for end users.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import InstrumentedAttribute

from core.messages import stored
from core.models import Contact, Contract, Product, SalesPartner
from core.query.errors import QueryError

MAX_DEPTH = 3
"""The most relations a dotted path may follow ("contracts.product.name" follows two)."""


class FieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    CHOICE = "choice"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    title: str
    type: FieldType
    column: InstrumentedAttribute[Any] = field(repr=False)
    choices: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        """The mapped attribute's name, to find the column on an aliased model."""
        return self.column.key


@dataclass(frozen=True)
class RelationSpec:
    """A foreign-key hop: ``source.local == target.remote``."""

    name: str
    title: str
    target: str
    to_many: bool
    local: str
    remote: str
    inverse: str | None = None


@dataclass(frozen=True)
class EntitySpec:
    name: str
    title: str
    model: type = field(repr=False)
    fields: dict[str, FieldSpec] = field(repr=False)
    relations: dict[str, RelationSpec] = field(repr=False)
    contact_path: str | None = field(repr=False)

    @property
    def id_column(self) -> InstrumentedAttribute[Any]:
        return self.model.id  # type: ignore[attr-defined]

    def known_names(self) -> str:
        return ", ".join([*self.fields, *self.relations])


@dataclass(frozen=True)
class ResolvedField:
    """A dotted path followed from a root entity to one field."""

    root: EntitySpec = field(repr=False)
    path: str
    relations: tuple[RelationSpec, ...]
    entity: EntitySpec = field(repr=False)
    field: FieldSpec

    @property
    def to_many(self) -> bool:
        return any(relation.to_many for relation in self.relations)

    @property
    def type(self) -> FieldType:
        return self.field.type


def _choices(column: InstrumentedAttribute[Any]) -> tuple[str, ...]:
    column_type = column.property.columns[0].type
    assert isinstance(column_type, SAEnum)
    return tuple(column_type.enums)


def _fields(model: type, *specs: tuple[str, str, FieldType]) -> dict[str, FieldSpec]:
    fields = {}
    for name, title, field_type in specs:
        column = getattr(model, name)
        choices = _choices(column) if field_type is FieldType.CHOICE else None
        fields[name] = FieldSpec(name, title, field_type, column, choices)
    return fields


T, N, D, DT, B, C = (
    FieldType.TEXT,
    FieldType.NUMBER,
    FieldType.DATE,
    FieldType.DATETIME,
    FieldType.BOOLEAN,
    FieldType.CHOICE,
)

_TIMESTAMPS = (("created_at", "Created at", DT), ("updated_at", "Changed at", DT))

ENTITIES: dict[str, EntitySpec] = {
    "contacts": EntitySpec(
        name="contacts",
        title="Contacts",
        model=Contact,
        fields=_fields(
            Contact,
            ("id", "ID", N),
            ("number", "Contact number", T),
            ("kind", "Kind", C),
            ("salutation", "Salutation", T),
            ("title", "Title", T),
            ("first_name", "First name", T),
            ("last_name", "Last name", T),
            ("company_name", "Company", T),
            ("street", "Street", T),
            ("address_extra", "Address extra", T),
            ("postcode", "Postcode", T),
            ("city", "City", T),
            ("country", "Country", T),
            ("email", "E-mail", T),
            ("phone", "Phone", T),
            ("mobile", "Mobile", T),
            ("language", "Language", T),
            ("birth_date", "Birth date", D),
            ("status", "Status", C),
            ("preferred_channel", "Preferred channel", C),
            ("dispatch_block", "Dispatch block", B),
            ("opt_out_post", "Opt-out post", B),
            ("opt_out_email", "Opt-out e-mail", B),
            ("opt_out_sms", "Opt-out SMS", B),
            ("opt_out_phone", "Opt-out phone", B),
            ("email_undeliverable", "Undeliverable e-mail address", T),
            *_TIMESTAMPS,
        ),
        relations={
            "partner": RelationSpec(
                "partner", "Sales partner", "partners", False, "partner_id", "id", "contacts"
            ),
            "contracts": RelationSpec(
                "contracts", "Contracts", "contracts", True, "id", "contact_id", "contact"
            ),
        },
        contact_path="",
    ),
    "contracts": EntitySpec(
        name="contracts",
        title="Contracts",
        model=Contract,
        fields=_fields(
            Contract,
            ("id", "ID", N),
            ("number", "Contract number", T),
            ("signed_on", "Signed on", D),
            ("amount", "Amount", N),
            ("status", "Status", C),
            ("cancelled_on", "Cancelled on", D),
            *_TIMESTAMPS,
        ),
        relations={
            "contact": RelationSpec(
                "contact", "Contact", "contacts", False, "contact_id", "id", "contracts"
            ),
            "product": RelationSpec(
                "product", "Product", "products", False, "product_id", "id", "contracts"
            ),
            "partner": RelationSpec(
                "partner", "Sales partner", "partners", False, "partner_id", "id", "contracts"
            ),
        },
        contact_path="contact",
    ),
    "partners": EntitySpec(
        name="partners",
        title="Sales partners",
        model=SalesPartner,
        fields=_fields(
            SalesPartner,
            ("id", "ID", N),
            ("number", "Partner number", T),
            ("name", "Name", T),
            ("company", "Company", T),
            ("email", "E-mail", T),
            ("phone", "Phone", T),
            ("street", "Street", T),
            ("postcode", "Postcode", T),
            ("city", "City", T),
            ("commission_rate", "Commission rate", N),
            ("active", "Active", B),
            *_TIMESTAMPS,
        ),
        relations={
            "contacts": RelationSpec(
                "contacts", "Contacts", "contacts", True, "id", "partner_id", "partner"
            ),
            "contracts": RelationSpec(
                "contracts", "Contracts", "contracts", True, "id", "partner_id", "partner"
            ),
        },
        contact_path=None,
    ),
    "products": EntitySpec(
        name="products",
        title="Products",
        model=Product,
        fields=_fields(
            Product,
            ("id", "ID", N),
            ("code", "Product code", T),
            ("name", "Name", T),
            ("category", "Category", T),
            ("monthly_price", "Monthly price", N),
            ("active", "Active", B),
            *_TIMESTAMPS,
        ),
        relations={
            "contracts": RelationSpec(
                "contracts", "Contracts", "contracts", True, "id", "product_id", "product"
            ),
        },
        contact_path=None,
    ),
}


def get_entity(root: str) -> EntitySpec:
    """The root entity named ``root``, or a QueryError listing the known ones."""
    try:
        return ENTITIES[root]
    except (KeyError, TypeError):
        raise QueryError(
            stored("unknown root {root}; known: {known}", root=repr(root), known=list(ENTITIES))
        ) from None


def resolve_path(root: str, path: str) -> ResolvedField:
    """Follow a dotted path such as ``contracts.product.name`` from ``root`` to a field."""
    root_spec = get_entity(root)
    if not isinstance(path, str) or not path:
        raise QueryError(stored("empty field name"))
    parts = path.split(".")
    if len(parts) - 1 > MAX_DEPTH:
        raise QueryError(
            stored("path '{path}' is too deep: at most {most} relations", path=path, most=MAX_DEPTH)
        )
    entity = root_spec
    relations: list[RelationSpec] = []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if part in entity.fields:
            if not last:
                raise QueryError(
                    stored(
                        "'{part}' on {entity} is a field, not a relation: '{path}' cannot be "
                        "followed further",
                        part=part,
                        entity=entity.name,
                        path=".".join(parts[: position + 1]),
                    )
                )
            return ResolvedField(root_spec, path, tuple(relations), entity, entity.fields[part])
        if part in entity.relations:
            relation = entity.relations[part]
            if last:
                target = ENTITIES[relation.target]
                example = (
                    "name"
                    if "name" in target.fields
                    else next(name for name in target.fields if name != "id")
                )
                raise QueryError(
                    stored(
                        "'{part}' on {entity} is a relation, not a field; pick one of its "
                        "fields, e.g. {example}",
                        part=part,
                        entity=entity.name,
                        example=f"{path}.{example}",
                    )
                )
            relations.append(relation)
            entity = ENTITIES[relation.target]
            continue
        raise QueryError(
            stored(
                "unknown field '{part}' on {entity}; known: {known}",
                part=part,
                entity=entity.name,
                known=entity.known_names(),
            )
        )
    raise AssertionError("unreachable")  # pragma: no cover


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
            node["choices"] = list(spec.choices)
        nodes.append(node)
    if depth <= 0:
        return nodes
    for relation in entity.relations.values():
        if relation.name == came_by:
            continue
        nodes.append(
            {
                "kind": "relation",
                "name": relation.name,
                "path": prefix + relation.name,
                "title": relation.title,
                "target": relation.target,
                "to_many": relation.to_many,
                "children": _tree(
                    relation.target, f"{prefix}{relation.name}.", depth - 1, relation.inverse
                ),
            }
        )
    return nodes


__all__ = [
    "ENTITIES",
    "MAX_DEPTH",
    "EntitySpec",
    "FieldSpec",
    "FieldType",
    "RelationSpec",
    "ResolvedField",
    "field_tree",
    "get_entity",
    "resolve_path",
]
