"""The database store's table, declared on the core's ``Base`` so that its metadata, naming
convention and column types are the core's."""

from __future__ import annotations

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base


class StoredChunk(Base):
    """One piece of a stored document: chunk ``number`` (from 0) of ``reference``.

    A document has at least chunk 0 (empty for an empty document), so an existing empty
    document and a missing one are told apart.
    """

    __tablename__ = "database_store_chunks"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
