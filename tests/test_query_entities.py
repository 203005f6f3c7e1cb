"""The whitelist of entities, fields and relations a query may use."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from core.models import Contact, ContactStatus, Contract, DispatchChannel, Product, SalesPartner
from core.query import ENTITIES, FieldType, QueryError, resolve_path


def test_the_four_roots_and_their_models():
    assert set(ENTITIES) == {"contacts", "contracts", "partners", "products"}
    assert ENTITIES["contacts"].model is Contact
    assert ENTITIES["contracts"].model is Contract
    assert ENTITIES["partners"].model is SalesPartner
    assert ENTITIES["products"].model is Product


def test_contact_paths():
    assert ENTITIES["contacts"].contact_path == ""
    assert ENTITIES["contracts"].contact_path == "contact"
    assert ENTITIES["partners"].contact_path is None
    assert ENTITIES["products"].contact_path is None


def test_fields_are_real_columns_of_their_model():
    for entity in ENTITIES.values():
        columns = {attr.key for attr in inspect(entity.model).column_attrs}
        for name, spec in entity.fields.items():
            assert spec.name == name
            assert spec.key in columns
            assert spec.column.class_ is entity.model
            assert spec.title


def test_internal_columns_are_not_whitelisted():
    contact = ENTITIES["contacts"].fields
    assert "attributes" not in contact
    assert "partner_id" not in contact
    assert "contact_id" not in ENTITIES["contracts"].fields
    assert "product_id" not in ENTITIES["contracts"].fields
    for entity in ENTITIES.values():
        assert not any("password" in name for name in entity.fields)


def test_meaningful_fields_and_types():
    contact = ENTITIES["contacts"].fields
    for name in (
        "id",
        "number",
        "first_name",
        "last_name",
        "company_name",
        "street",
        "postcode",
        "city",
        "email",
        "phone",
        "mobile",
        "language",
        "birth_date",
        "status",
        "preferred_channel",
        "dispatch_block",
        "opt_out_email",
        "created_at",
    ):
        assert name in contact
    assert contact["birth_date"].type is FieldType.DATE
    assert contact["created_at"].type is FieldType.DATETIME
    assert contact["dispatch_block"].type is FieldType.BOOLEAN
    assert contact["id"].type is FieldType.NUMBER
    assert contact["status"].choices == tuple(member.value for member in ContactStatus)
    assert contact["preferred_channel"].choices == tuple(m.value for m in DispatchChannel)
    contract = ENTITIES["contracts"].fields
    assert contract["signed_on"].type is FieldType.DATE
    assert contract["amount"].type is FieldType.NUMBER
    assert {"name", "category"} <= set(ENTITIES["products"].fields)
    assert {"number", "name"} <= set(ENTITIES["partners"].fields)


def test_relations():
    def shape(root: str) -> dict[str, tuple[str, bool]]:
        relations = ENTITIES[root].relations
        return {name: (spec.target, spec.to_many) for name, spec in relations.items()}

    assert shape("contacts") == {"partner": ("partners", False), "contracts": ("contracts", True)}
    assert shape("contracts") == {
        "contact": ("contacts", False),
        "product": ("products", False),
        "partner": ("partners", False),
    }
    assert shape("partners") == {"contacts": ("contacts", True), "contracts": ("contracts", True)}
    assert shape("products") == {"contracts": ("contracts", True)}


def test_resolve_path():
    resolved = resolve_path("contracts", "product.name")
    assert resolved.field.name == "name"
    assert resolved.entity.name == "products"
    assert [relation.name for relation in resolved.relations] == ["product"]
    assert not resolved.to_many

    resolved = resolve_path("contacts", "contracts.product.name")
    assert [relation.name for relation in resolved.relations] == ["contracts", "product"]
    assert resolved.to_many
    assert resolved.type is FieldType.TEXT

    assert resolve_path("contacts", "partner.number").entity.name == "partners"
    assert resolve_path("contacts", "city").relations == ()
    assert resolve_path("contacts", "contracts.contact.partner.name").field.name == "name"


@pytest.mark.parametrize(
    ("root", "path", "message"),
    [
        ("contracts", "produkt", "unknown field 'produkt' on contracts; known: id, number,"),
        ("contracts", "product.nam", "unknown field 'nam' on products; known: id, code, name"),
        ("contacts", "partner", "'partner' on contacts is a relation, not a field"),
        ("contacts", "city.name", "'city' on contacts is a field, not a relation"),
        ("contacts", "attributes", "unknown field 'attributes' on contacts"),
        ("contacts", "partner_id", "unknown field 'partner_id' on contacts"),
        ("contacts", "", "empty field name"),
        ("contacts", "contracts.", "unknown field '' on contracts"),
        ("contacts", "contracts.contact.contracts.contact.city", "is too deep: at most 3"),
        ("kontakte", "city", "unknown root 'kontakte'; known: contacts, contracts,"),
    ],
)
def test_resolve_path_errors(root: str, path: str, message: str):
    with pytest.raises(QueryError) as error:
        resolve_path(root, path)
    assert message in str(error.value)


def test_unknown_field_lists_fields_and_relations():
    with pytest.raises(QueryError) as error:
        resolve_path("contracts", "produkt")
    assert str(error.value) == (
        "unknown field 'produkt' on contracts; known: id, number, signed_on, amount, status, "
        "cancelled_on, created_at, updated_at, contact, product, partner"
    )
