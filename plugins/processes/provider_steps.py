"""A person's decision about a step of the supplier workflow whose outcome is unknown.

A step is unclear when the file or e-mail may have reached the provider or may not (the
pass died while sending, the server never confirmed). The workflow never repeats it on its
own; the panel calls ``decide_unclear_step`` with what the person found out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.messages import StoredText, stored_for
from plugins.processes.models import ProviderStep, ProviderStepStatus

stored = stored_for(__name__)


def decide_unclear_step(
    session: Session, step_id: int, *, arrived: bool, by: str, now: datetime
) -> ProviderStep:
    """``arrived``: the provider has it, the step counts as done and the delivery goes on.
    Otherwise the next pass does the step again (an upload with ``resend``)."""
    step = session.get(ProviderStep, step_id)
    if step is None:
        raise ValueError(f"there is no provider step {step_id}")
    if step.status is not ProviderStepStatus.UNCLEAR:
        raise ValueError(f"step {step.key} is {step.status}, not unclear: nothing to decide")
    if arrived:
        step.status = ProviderStepStatus.DONE
        step.finished_at = now
        step.describe(
            stored("{detail}; {by} confirmed that it arrived", detail=_before(step), by=by)
        )
    else:
        step.status = ProviderStepStatus.FAILED
        step.resend = True
        step.describe(
            stored("{detail}; {by} decided to send it again", detail=_before(step), by=by)
        )
    session.flush()
    return step


def _before(step: ProviderStep) -> StoredText | str:
    return step.detail_text or stored("unclear")
