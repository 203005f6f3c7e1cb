"""Run files: what a run produces besides its archived letters (the collection PDF and its
manifest, extraction files, previews, upload files), each a row naming where a document
store keeps its bytes, so that every machine reaches them (``core.documents.run_files``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, Timestamped


class RunFile(Timestamped, Base):
    """File ``name`` (a relative path such as ``collection.pdf``) of run ``run_id``.

    A file is visible only once its row commits; the row names the store, the store's
    reference and the SHA-256 every reader checks.
    """

    __tablename__ = "run_files"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    store: Mapped[str] = mapped_column(String(64))
    store_ref: Mapped[str] = mapped_column(String(400))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
