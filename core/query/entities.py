"""The whitelist of what a stored query may touch: only names listed here ever select a column,
so a query can never reach a table or column (passwords, internal keys, JSON blobs) that is
not meant for end users.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute, aliased

from core.messages import stored
from core.models import Contact, Contract, Product, SalesPartner
from core.query.definition import QueryError

MAX_DEPTH = 3  # relations a dotted path may follow ("contracts.product.name" follows two)


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

    def join(self, source: Any) -> tuple[Any, ColumnElement[bool]]:
        """A new alias of the target, and the condition that joins it to ``source``."""
        target = aliased(ENTITIES[self.target].model)
        return target, getattr(target, self.remote) == getattr(source, self.local)


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


def _entity(
    name: str,
    title: str,
    model: type,
    contact_path: str | None,
    fields: list[tuple[str, str, FieldType]],
) -> EntitySpec:
    specs = {}
    for field_name, field_title, field_type in fields:
        column = getattr(model, field_name)
        choices = None
        if field_type is FieldType.CHOICE:
            choices = tuple(column.property.columns[0].type.enums)
        specs[field_name] = FieldSpec(field_name, field_title, field_type, column, choices)
    return EntitySpec(name, title, model, specs, {}, contact_path)


T, N, D, DT, B, C = FieldType  # in the order FieldType lists them
_TIMESTAMPS = (("created_at", "Created at", DT), ("updated_at", "Changed at", DT))

ENTITIES: dict[str, EntitySpec] = {
    entity.name: entity
    for entity in (
        _entity(
            "contacts",
            "Contacts",
            Contact,
            "",
            [
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
            ],
        ),
        _entity(
            "contracts",
            "Contracts",
            Contract,
            "contact",
            [
                ("id", "ID", N),
                ("number", "Contract number", T),
                ("signed_on", "Signed on", D),
                ("amount", "Amount", N),
                ("status", "Status", C),
                ("cancelled_on", "Cancelled on", D),
                *_TIMESTAMPS,
            ],
        ),
        _entity(
            "partners",
            "Sales partners",
            SalesPartner,
            None,
            [
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
            ],
        ),
        _entity(
            "products",
            "Products",
            Product,
            None,
            [
                ("id", "ID", N),
                ("code", "Product code", T),
                ("name", "Name", T),
                ("category", "Category", T),
                ("monthly_price", "Monthly price", N),
                ("active", "Active", B),
                *_TIMESTAMPS,
            ],
        ),
    )
}


def _link(source: str, name: str, title: str, target: str, column: str) -> None:
    """A foreign key as the to-one relation it is and the way back, to-many, named after the
    entity it comes from."""
    to_one = RelationSpec(name, title, target, False, column, "id", source)
    ENTITIES[source].relations[name] = to_one
    to_many = RelationSpec(source, ENTITIES[source].title, source, True, "id", column, name)
    ENTITIES[target].relations[source] = to_many


_link("contacts", "partner", "Sales partner", "partners", "partner_id")
_link("contracts", "contact", "Contact", "contacts", "contact_id")
_link("contracts", "product", "Product", "products", "product_id")
_link("contracts", "partner", "Sales partner", "partners", "partner_id")


def get_entity(root: str) -> EntitySpec:
    """The root entity named ``root``, or a QueryError listing the known ones."""
    try:
        return ENTITIES[root]
    except (KeyError, TypeError):
        raise QueryError(
            stored("unknown root {root}; known: {known}", root=repr(root), known=list(ENTITIES))
        ) from None


def _unknown(part: str, entity: EntitySpec) -> QueryError:
    return QueryError(
        stored(
            "unknown field '{part}' on {entity}; known: {known}",
            part=part,
            entity=entity.name,
            known=", ".join([*entity.fields, *entity.relations]),
        )
    )


def resolve_path(root: str, path: str) -> ResolvedField:
    """Follow a dotted path such as ``contracts.product.name`` from ``root`` to a field."""
    root_spec = get_entity(root)
    if not isinstance(path, str) or not path:
        raise QueryError(stored("empty field name"))
    *hops, last = path.split(".")
    if len(hops) > MAX_DEPTH:
        raise QueryError(
            stored("path '{path}' is too deep: at most {most} relations", path=path, most=MAX_DEPTH)
        )
    entity = root_spec
    relations: list[RelationSpec] = []
    for position, part in enumerate(hops):
        if part in entity.fields:
            raise QueryError(
                stored(
                    "'{part}' on {entity} is a field, not a relation: '{path}' cannot be "
                    "followed further",
                    part=part,
                    entity=entity.name,
                    path=".".join(hops[: position + 1]),
                )
            )
        if part not in entity.relations:
            raise _unknown(part, entity)
        relations.append(entity.relations[part])
        entity = ENTITIES[relations[-1].target]
    if last in entity.relations:
        target = ENTITIES[entity.relations[last].target]
        example = "name" if "name" in target.fields else next(n for n in target.fields if n != "id")
        raise QueryError(
            stored(
                "'{part}' on {entity} is a relation, not a field; pick one of its "
                "fields, e.g. {example}",
                part=last,
                entity=entity.name,
                example=f"{path}.{example}",
            )
        )
    if last not in entity.fields:
        raise _unknown(last, entity)
    return ResolvedField(root_spec, path, tuple(relations), entity, entity.fields[last])
