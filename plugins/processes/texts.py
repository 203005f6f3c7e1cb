"""How texts stored for later (notifications, workflow log lines, a service's errors;
``core.messages``) name the bundle's codes: approval steps and states, delivery channels,
delivery and task states, provider steps (a campaign's status:
``core.engine.runs.CAMPAIGN_STATUS_NAMES``).

Each name is a stored text of its own, so it reads in the reader's language; its English id
is the word the screens use in English.
"""

from __future__ import annotations

from core.messages import stored_for
from plugins.processes.models import (
    ApprovalState,
    ApprovalStep,
    DeliveryChannel,
    DeliveryState,
    ProviderStepKind,
    TaskState,
)

stored = stored_for(__name__)


STEP_NAMES = {
    ApprovalStep.TARGETING: stored("targeting"),
    ApprovalStep.CONTENT: stored("content"),
    ApprovalStep.BUDGET: stored("budget"),
    ApprovalStep.EXTRACTION: stored("extraction"),
    ApprovalStep.PROOF: stored("proof"),
    ApprovalStep.START: stored("start"),
}
APPROVAL_STATE_NAMES = {
    ApprovalState.NOT_SUBMITTED: stored("not submitted"),
    ApprovalState.PENDING: stored("waiting for an answer"),
    ApprovalState.APPROVED: stored("approved"),
    ApprovalState.REJECTED: stored("rejected"),
}
CHANNEL_NAMES = {
    DeliveryChannel.EMAIL: stored("e-mail"),
    DeliveryChannel.SMS: stored("SMS"),
    DeliveryChannel.DIRECT_MAIL: stored("direct mail"),
    DeliveryChannel.PRINT: stored("mass print"),
}
DELIVERY_STATE_NAMES = {
    DeliveryState.EDITING: stored("being edited"),
    DeliveryState.TO_VALIDATE: stored("to validate"),
    DeliveryState.APPROVED: stored("approved"),
    DeliveryState.PENDING_CONFIRMATION: stored("pending confirmation"),
    DeliveryState.START_PENDING: stored("start pending"),
    DeliveryState.IN_PROGRESS: stored("in progress"),
    DeliveryState.PAUSED: stored("paused"),
    DeliveryState.EXTRACTION_PENDING: stored("extraction pending"),
    DeliveryState.FILE_TO_APPROVE: stored("file to approve"),
    DeliveryState.PROOF_TO_SUBMIT: stored("proof to submit"),
    DeliveryState.PROOF_TO_VALIDATE: stored("proof to validate"),
    DeliveryState.FILE_SENT: stored("file sent"),
    DeliveryState.FINISHED: stored("finished"),
    DeliveryState.STOPPED: stored("stopped"),
    DeliveryState.FAILED: stored("failed"),
}
TASK_STATE_NAMES = {  # ids of their own where a task's German word differs from a delivery's
    TaskState.SCHEDULED: stored("scheduled"),
    TaskState.IN_PROGRESS: stored("being worked on"),
    TaskState.PENDING_APPROVAL: stored("pending approval"),
    TaskState.FINISHED: stored("done"),
    TaskState.REJECTED: stored("rejected"),
    TaskState.CANCELLED: stored("called off"),
}
STEP_KIND_NAMES = {
    ProviderStepKind.EXTRACTION: stored("extraction file"),
    ProviderStepKind.UPLOAD: stored("upload"),
    ProviderStepKind.ROUTER_EMAIL: stored("notice to the router"),
    ProviderStepKind.PROOF_EMAIL: stored("proof copy by e-mail"),
    ProviderStepKind.RESULT_FILE: stored("result file"),
}
