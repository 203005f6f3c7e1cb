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
from core.models.campaigns import (
    ACTIVE_RUN_STATES,
    FINAL_RUN_STATES,
    Campaign,
    CampaignRecord,
    ItemKind,
    ItemStatus,
    Run,
    RunItem,
    RunState,
    SavedQuery,
)
from core.models.users import Role, User

__all__ = [
    "ACTIVE_RUN_STATES",
    "FINAL_RUN_STATES",
    "Base",
    "Campaign",
    "CampaignRecord",
    "Contact",
    "ContactKind",
    "ContactStatus",
    "Contract",
    "ContractStatus",
    "DispatchChannel",
    "ItemKind",
    "ItemStatus",
    "Product",
    "Role",
    "Run",
    "RunItem",
    "RunState",
    "SalesPartner",
    "SavedQuery",
    "User",
]
