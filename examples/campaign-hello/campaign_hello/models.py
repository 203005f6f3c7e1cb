"""The plugin's own table, declared on the core's ``Base`` so that its metadata, naming
convention and column types are the core's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base


class Greeting(Base):
    """One greeting the ``greeting_file`` action wrote: the run, the recipient and the line."""

    __tablename__ = "hello_greetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(String(500))
    written_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))
