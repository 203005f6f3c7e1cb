"""What the delivery, campaign-jobs and supplier workflows share: each delivery (or schedule
line) is handled in a unit of work of its own, so one that cannot go on is reported in the
pass's log while the others go on; and the summary counts what happened."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from core.messages import DetailText, ExplainedError, StoredText, english_plural, stored_for
from core.notifications import notify_campaign_manager
from plugins.processes.models import Delivery, DeliveryState

REQUIRES = ("plugins.processes",)
"""Only the process workflows, which require the bundle too, use these helpers."""

stored = stored_for(__name__)
Label = str | tuple[str, str]
"""What follows a count in a summary, or the count's singular and plural ("{0} file sent")."""


class Pass:
    """Counts and problems of one pass of a workflow."""

    def __init__(self, context: Any, labels: dict[str, Label]):
        self.context = context
        self.labels = labels
        """Counter name → how the summary says it ("started": "started", "sent": ("{0} file
        sent", "{0} files sent"))."""
        self.counts: Counter[str] = Counter()
        self.problems: list[StoredText] = []

    @property
    def now(self) -> datetime:
        return self.context.now

    def count(self, name: str, what: StoredText | None = None) -> None:
        self.counts[name] += 1
        if what:
            self.context.log(what)

    def log(self, text: StoredText) -> None:
        self.context.log(text)

    def problem(self, text: StoredText) -> None:
        self.problems.append(text)
        self.context.log(text)

    @contextmanager
    def handling(self, what: StoredText) -> Iterator[None]:
        """Report an error of ``what`` and go on with the next one.

        A delivery changed by someone else meanwhile (its version moved on) is left for the
        next pass, which sees the change.
        """
        try:
            yield
        except StaleDataError:
            self.log(
                stored(
                    "{what}: changed by someone else during the pass; looked at next time",
                    what=what,
                )
            )
        except ExplainedError as exc:
            self.problem(stored("{what}: {error}", what=what, error=exc.text))
        except (ValueError, LookupError) as exc:
            self.problem(stored("{what}: {error}", what=what, error=DetailText(str(exc))))
        except Exception as exc:
            self.problem(stored("{what}: {error}", what=what, error=f"{type(exc).__name__}: {exc}"))

    def fail_delivery(self, delivery_id: int, reason: StoredText) -> None:
        """The delivery fails (counted as "failed"); the log and its campaign's manager say
        why."""
        with self.context.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.move_to(DeliveryState.FAILED, self.now)
            self.count(
                "failed", stored("{delivery}: {reason}", delivery=describe(delivery), reason=reason)
            )
            notify_campaign_manager(
                session,
                delivery.campaign,
                kind="delivery_failed",
                subject=stored(
                    "Delivery failed: {delivery} ({campaign})",
                    delivery=delivery.label,
                    campaign=delivery.campaign.name,
                ),
                body=reason,
                now=self.now,
                about=("delivery", delivery.id),
            )

    def summary(self, *tail: str) -> str:
        parts = [counted(self.counts[name], label) for name, label in self.labels.items()]
        text = "; ".join([", ".join(parts), *tail])
        if self.problems:
            text += "; " + english_plural(
                "{0} problem (see the log)", "{0} problems (see the log)", len(self.problems)
            )
        return text


def counted(count: int, label: Label) -> str:
    """``count`` with its label in plain English, in the form for it ("1 file sent")."""
    return english_plural(*label, count) if isinstance(label, tuple) else f"{count} {label}"


def describe(delivery: Delivery) -> StoredText:
    return stored(
        "delivery {id} '{label}' of '{campaign}'",
        id=str(delivery.id),
        label=delivery.label,
        campaign=delivery.campaign.name,
    )
