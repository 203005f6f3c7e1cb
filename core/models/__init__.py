"""All tables of the core; importing this registers them on ``Base.metadata``."""

from core.models.addressbook import (
    Contact,
    ContactKind,
    ContactStatus,
    Contract,
    ContractStatus,
    DispatchChannel,
    Product,
    SalesPartner,
)
from core.models.base import Base
from core.models.users import Role, User

__all__ = [
    "Base",
    "Contact",
    "ContactKind",
    "ContactStatus",
    "Contract",
    "ContractStatus",
    "DispatchChannel",
    "Product",
    "Role",
    "SalesPartner",
    "User",
]
