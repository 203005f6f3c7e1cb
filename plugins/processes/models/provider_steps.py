"""The record of what the supplier workflow did for a delivery's provider, one row per step.

Each step that reaches outside (a file built, uploaded, e-mailed, a result file read) is
recorded under a key naming the delivery's extraction run and the step, so a second pass
finds the record instead of doing the step again.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.messages import DetailText, StoredText, stored_for
from core.models.base import Base, Timestamped, enum_column

stored = stored_for(__name__)


class ProviderStepKind(enum.StrEnum):
    EXTRACTION = "extraction"
    """The extraction file, built from the provider's export template."""
    UPLOAD = "upload"
    """The file handed to the provider's upload target (``core.uploads``)."""
    ROUTER_EMAIL = "router_email"
    """The notification e-mail to the provider ("router") with the file attached."""
    PROOF_EMAIL = "proof_email"
    """The router e-mail sent to the proof's reviewers instead of the provider."""
    RESULT_FILE = "result_file"
    """The provider's result file, read into the ledger."""


class ProviderStepStatus(enum.StrEnum):
    CLAIMED = "claimed"
    """Under way; found at the start of a later pass, the pass doing it died."""
    DONE = "done"
    FAILED = "failed"
    """It did not happen; the next pass tries again."""
    UNCLEAR = "unclear"
    """It may have happened; only a person's decision repeats it."""


class ProviderStep(Timestamped, Base):
    """One step of a delivery's provider follow-up (``key``: ``run-12/router_email``)."""

    __tablename__ = "provider_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", ondelete="SET NULL"), index=True
    )
    """The extraction run the step belongs to."""
    kind: Mapped[ProviderStepKind] = mapped_column(
        enum_column(ProviderStepKind, "provider_step_kind")
    )
    status: Mapped[ProviderStepStatus] = mapped_column(
        enum_column(ProviderStepStatus, "provider_step_status"),
        default=ProviderStepStatus.CLAIMED,
    )
    file_name: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int | None]
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the step found or produced: the Message-ID, where the file landed, counts; and
    its detail as a stored text (``describe``)."""
    detail: Mapped[str | None] = mapped_column(Text)
    """What happened, or the error."""
    attempts: Mapped[int] = mapped_column(default=0)
    resend: Mapped[bool] = mapped_column(default=False)
    """A person decided that an unclear step is to be done again."""
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def describe(self, detail: StoredText | str) -> None:
        """Record what happened: ``detail`` in English, and as a stored text in ``facts``, so
        the notification and the log lines that name it are read in their reader's language
        (an error another module wrote translated part by part, as a run item's detail)."""
        text = (
            detail
            if isinstance(detail, StoredText)
            else stored("{detail}", detail=DetailText(detail))
        )
        self.detail = text.english()
        facts = {name: value for name, value in (self.facts or {}).items() if name != "detail"}
        facts["detail"] = text.as_json()
        self.facts = facts

    @property
    def detail_text(self) -> StoredText | str:
        """What happened, as ``describe`` recorded it (a stored text where it was one)."""
        return StoredText.from_json((self.facts or {}).get("detail")) or self.detail or ""
