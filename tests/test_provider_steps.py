"""A person's decision about an unclear step of the supplier workflow."""

from datetime import UTC, datetime

import pytest

from plugins.processes.models import (
    Delivery,
    DeliveryChannel,
    ProviderStep,
    ProviderStepKind,
    ProviderStepStatus,
)
from plugins.processes.provider_steps import decide_unclear_step

from process_helpers import campaign

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def step(database, status=ProviderStepStatus.UNCLEAR) -> int:
    with database.session() as session:
        owner = campaign(session)
        delivery = Delivery(campaign_id=owner.id, label="Brief", channel=DeliveryChannel.PRINT)
        session.add(delivery)
        session.flush()
        row = ProviderStep(
            key="run-1/router_email",
            delivery_id=delivery.id,
            kind=ProviderStepKind.ROUTER_EMAIL,
            status=status,
            detail="no answer from the mail server",
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.parametrize(
    ("arrived", "status", "resend", "detail"),
    [
        (True, ProviderStepStatus.DONE, False, "manager confirmed that it arrived"),
        (False, ProviderStepStatus.FAILED, True, "manager decided to send it again"),
    ],
)
def test_an_unclear_step_is_done_or_done_again(database, arrived, status, resend, detail):
    step_id = step(database)
    with database.session() as session:
        decide_unclear_step(session, step_id, arrived=arrived, by="manager", now=NOW)
    with database.session() as session:
        decided = session.get(ProviderStep, step_id)
        assert (decided.status, decided.resend) == (status, resend)
        assert decided.detail == f"no answer from the mail server; {detail}"


def test_only_an_unclear_step_takes_a_decision(database):
    step_id = step(database, ProviderStepStatus.DONE)
    with database.session() as session, pytest.raises(ValueError) as error:
        decide_unclear_step(session, step_id, arrived=False, by="manager", now=NOW)
    assert str(error.value) == "step run-1/router_email is done, not unclear: nothing to decide"
    with database.session() as session, pytest.raises(ValueError, match="no provider step 99"):
        decide_unclear_step(session, 99, arrived=True, by="manager", now=NOW)
