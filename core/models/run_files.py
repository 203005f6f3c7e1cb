"""Files a run produces besides its letters, kept in a document store so every machine reaches
them (``core.documents.run_files``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Timestamped


class RunFile(Timestamped, Base):
    """File ``name`` (``collection.pdf``) of a run; visible once its row commits."""

    __tablename__ = "run_files"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    store: Mapped[str] = mapped_column(String(64))
    store_ref: Mapped[str] = mapped_column(String(400))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
