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

from core.notifications import notify_campaign_manager
from plugins.processes.models import Delivery, DeliveryState

REQUIRES = ("plugins.processes",)
"""Only the process workflows, which require the bundle too, use these helpers."""


class Pass:
    """Counts and problems of one pass of a workflow."""

    def __init__(self, context: Any, labels: dict[str, str]):
        self.context = context
        self.labels = labels
        """Counter name → how the summary says it ("started": "run(s) started")."""
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []

    @property
    def now(self) -> datetime:
        return self.context.now

    def count(self, name: str, what: str | None = None) -> None:
        self.counts[name] += 1
        if what:
            self.context.log(what)

    def log(self, message: str) -> None:
        self.context.log(message)

    def problem(self, message: str) -> None:
        self.problems.append(message)
        self.context.log(message)

    @contextmanager
    def handling(self, what: str) -> Iterator[None]:
        """Report an error of ``what`` and go on with the next one.

        A delivery changed by someone else meanwhile (its version moved on) is left for the
        next pass, which sees the change.
        """
        try:
            yield
        except StaleDataError:
            self.log(f"{what}: changed by someone else during the pass; looked at next time")
        except (ValueError, LookupError) as exc:
            self.problem(f"{what}: {exc}")
        except Exception as exc:
            self.problem(f"{what}: {type(exc).__name__}: {exc}")

    def fail_delivery(self, delivery_id: int, reason: str) -> None:
        """The delivery fails (counted as "failed"); the log and its campaign's manager say
        why."""
        with self.context.database.session() as session:
            delivery = session.get(Delivery, delivery_id)
            delivery.move_to(DeliveryState.FAILED, self.now)
            self.count("failed", f"{describe(delivery)}: {reason}")
            notify_campaign_manager(
                session,
                delivery.campaign,
                kind="delivery_failed",
                subject=f"Delivery failed: {delivery.label} ({delivery.campaign.name})",
                body=reason,
                now=self.now,
                about=("delivery", delivery.id),
            )

    def summary(self, *tail: str) -> str:
        parts = [f"{self.counts[name]} {label}" for name, label in self.labels.items()]
        text = "; ".join([", ".join(parts), *tail])
        if self.problems:
            text += f"; {len(self.problems)} problem(s), see the log"
        return text


def describe(delivery: Delivery) -> str:
    return f"delivery {delivery.id} {delivery.label!r} of {delivery.campaign.name!r}"
