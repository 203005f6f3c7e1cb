"""Users of the web panel, the roles that decide what they may do, their tokens for the HTTP
API, and groups of operators that approvals and notifications can name."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core.clock import utcnow
from core.models.base import Base, Timestamped, enum_column, enum_field


class Role(enum.StrEnum):
    """Roles from least to most powerful; each includes what the ones before it may do."""

    VIEWER = "viewer"
    REVIEWER = "reviewer"
    CAMPAIGN_MANAGER = "campaign_manager"
    ADMIN = "admin"

    def includes(self, other: Role) -> bool:
        return list(Role).index(self) >= list(Role).index(other)


MIN_PASSWORD_LENGTH = 10


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = enum_field("user_role", Role.VIEWER)
    language: Mapped[str] = mapped_column(String(5), default="de")
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]

    def set_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class ApiToken(Base):
    """A user's named, expiring bearer credential for the HTTP API, stored only as a hash, with
    a role no higher than the user's."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The secret's first characters, so the owner can tell tokens apart."""
    role: Mapped[Role] = mapped_column(enum_column(Role, "api_token_role"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


user_group_members = Table(
    "user_group_members",
    Base.metadata,
    Column("group_id", ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class UserGroup(Timestamped, Base):
    """A named group of operators (e.g. "Lager", "Druckfreigabe") to notify or ask for approval."""

    __tablename__ = "user_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")

    members: Mapped[list[User]] = relationship(secondary=user_group_members, order_by=User.id)
