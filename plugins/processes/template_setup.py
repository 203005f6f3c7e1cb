"""Setting up a campaign template, for the panel's screens, the HTTP API and the command line
alike: the limits of its fields, the rules they must meet together, what its audit entry
records, what comes next on its schedule, what a person decides about a schedule line
(approve it, let it start, skip it), and deleting it.

Every change of a line is a conditional update, and deleting a template a conditional delete,
so an operationMgt pass starting a line at the same moment cannot be undone or doubled."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from core.messages import ExplainedError, StoredText, stored_for
from core.models import Campaign, User
from plugins.processes.models import (
    CampaignTemplate,
    OccurrenceState,
    Program,
    TemplateKind,
    TemplateOccurrence,
)
from webapp import format_datetime, parse_id, t

stored = stored_for(__name__)
NAME_LENGTH = 200
DESCRIPTION_LENGTH = 5000
MAX_EVERY = 1000
"""Every 1,000 days, weeks or months at most: a schedule's dates stay within the calendar."""
MAX_ADVANCE_DAYS = 366
SCHEDULE_END = datetime(2999, 12, 31, tzinfo=UTC)
"""Where a schedule without an end is no longer looked at (the date inputs' last day)."""
FIELDS = (
    "name",
    "description",
    "kind",
    "campaign_id",
    "program_id",
    "frequency",
    "every",
    "first_at",
    "until",
    "create_in_advance_days",
    "to_be_approved",
    "to_be_started",
    "active",
)
"""What a template is set up with, by the form and by the API."""
LineAction = Literal["approve", "start", "skip"]


class TemplateNotFoundError(ExplainedError):
    """No template (or schedule line) has this id or name."""


def find_template(session: Session, name_or_id: str) -> CampaignTemplate:
    """The template with this id (digits) or name."""
    template_id = parse_id(name_or_id)
    if template_id is not None:
        template = session.get(CampaignTemplate, template_id)
    else:
        template = session.scalar(
            select(CampaignTemplate).where(CampaignTemplate.name == name_or_id)
        )
    if template is None:
        raise TemplateNotFoundError(stored("no campaign template '{name}'", name=name_or_id))
    return template


def find_line(session: Session, line_id: int) -> TemplateOccurrence:
    line = session.get(TemplateOccurrence, line_id)
    if line is None:
        raise TemplateNotFoundError(stored("no schedule line {id}", id=line_id))
    return line


def template_problems(
    session: Session, values: Mapping[str, Any], template: CampaignTemplate | None
) -> dict[str, str]:
    """What the fields cannot see alone, each in the reader's language under its field:
    unique names and model campaigns, a schedule for a recurring or periodic template, the
    end after the first date. ``values`` holds ``FIELDS``, each read already (a field that
    could not be read is None and not looked at again); ``template`` is the one changed."""
    problems: dict[str, str] = {}
    own_id = template.id if template is not None else -1
    name, kind = values["name"], values["kind"]
    campaign_id, program_id = values["campaign_id"], values["program_id"]
    if name is not None and session.scalar(
        select(CampaignTemplate.id).where(
            CampaignTemplate.name == name, CampaignTemplate.id != own_id
        )
    ):
        problems["name"] = t("forms.taken")
    if campaign_id is not None:
        if session.get(Campaign, campaign_id) is None:
            problems["campaign_id"] = t("templates.campaign_missing", id=campaign_id)
        else:
            other = session.scalar(
                select(CampaignTemplate.name).where(
                    CampaignTemplate.campaign_id == campaign_id, CampaignTemplate.id != own_id
                )
            )
            if other is not None:
                problems["campaign_id"] = t("templates.campaign_taken", name=other)
    if template is not None and kind is not None and kind != template.kind and template.occurrences:
        problems["kind"] = t("templates.kind_fixed")
    if kind is not None and kind != TemplateKind.UNIQUE:
        if values["frequency"] is None:
            problems["frequency"] = t("templates.frequency_required")
        if values["first_at"] is None:
            problems["first_at"] = t("templates.first_at_required")
    if program_id is not None:
        if kind != TemplateKind.PERIODIC:
            problems["program_id"] = t("templates.program_periodic_only")
        elif session.get(Program, program_id) is None:
            problems["program_id"] = t("templates.program_missing", id=program_id)
    first_at, until = values["first_at"], values["until"]
    if first_at is not None and until is not None and until < first_at:
        problems["until"] = t("forms.end_before_start")
    return problems


def template_details(template: CampaignTemplate) -> dict[str, Any]:
    """What the audit entry of a template's creation or change records."""
    return {
        "kind": template.kind.value,
        "campaign_id": template.campaign_id,
        "frequency": template.frequency.value if template.frequency else None,
        "every": template.every,
        "first_at": template.first_at.isoformat() if template.first_at else None,
        "until": template.until.isoformat() if template.until else None,
        "active": template.active,
    }


def next_date(template: CampaignTemplate, after: datetime) -> datetime | None:
    """The schedule's first date after ``after``; None for an inactive or unique template
    and for a schedule that has ended."""
    if not template.active:
        return None
    later = (day for day in template.planned_dates(SCHEDULE_END, since=after) if day > after)
    return next(later, None)


def upcoming(
    session: Session, templates: Iterable[CampaignTemplate], now: datetime
) -> dict[int, dict[str, Any]]:
    """Per template: its next planned line (``line``), else the next date of its schedule
    after its latest line (``at``; operationMgt creates that line within the template's
    horizon)."""
    by_id = {template.id: template for template in templates}
    if not by_id:
        return {}
    first = (
        select(TemplateOccurrence.template_id, func.min(TemplateOccurrence.planned_at).label("at"))
        .where(
            TemplateOccurrence.template_id.in_(by_id),
            TemplateOccurrence.state == OccurrenceState.PLANNED,
        )
        .group_by(TemplateOccurrence.template_id)
        .subquery()
    )
    lines = {
        line.template_id: line
        for line in session.scalars(
            select(TemplateOccurrence).join(
                first,
                (TemplateOccurrence.template_id == first.c.template_id)
                & (TemplateOccurrence.planned_at == first.c.at),
            )
        )
    }
    latest = dict(
        session.execute(
            select(TemplateOccurrence.template_id, func.max(TemplateOccurrence.planned_at))
            .where(TemplateOccurrence.template_id.in_(by_id))
            .group_by(TemplateOccurrence.template_id)
        ).all()
    )
    found: dict[int, dict[str, Any]] = {}
    for template_id, template in by_id.items():
        if template_id in lines:
            found[template_id] = {"line": lines[template_id], "at": None}
        else:
            after = max(now, latest.get(template_id) or now)
            found[template_id] = {"line": None, "at": next_date(template, after)}
    return found


def template_facts(
    session: Session, templates: Iterable[CampaignTemplate], now: datetime
) -> list[dict[str, Any]]:
    """Each template as the API and ``campaign templates show`` give it: its fields, its
    model campaign's name, and its next line (``next_line``) or else the schedule's next date
    (``next_date``), as the panel's list shows them."""
    templates = list(templates)
    next_ones = upcoming(session, templates, now)
    campaigns = _names(session, Campaign.name, {template.campaign_id for template in templates})
    lines = [found["line"] for found in next_ones.values() if found["line"] is not None]
    approvers = _names(session, User.username, {line.approved_by_id for line in lines})
    return [
        {
            "id": template.id,
            **{name: getattr(template, name) for name in FIELDS},
            "kind": template.kind.value,
            "frequency": template.frequency.value if template.frequency else None,
            "campaign": campaigns.get(template.campaign_id, ""),
            "next_line": line_facts(line, approvers)
            if (line := next_ones[template.id]["line"])
            else None,
            "next_date": next_ones[template.id]["at"],
        }
        for template in templates
    ]


def planned_lines(session: Session, template: CampaignTemplate) -> list[dict[str, Any]]:
    """The template's lines still planned, soonest first."""
    lines = session.scalars(
        select(TemplateOccurrence)
        .where(
            TemplateOccurrence.template_id == template.id,
            TemplateOccurrence.state == OccurrenceState.PLANNED,
        )
        .order_by(TemplateOccurrence.planned_at)
    ).all()
    approvers = _names(session, User.username, {line.approved_by_id for line in lines})
    return [line_facts(line, approvers) for line in lines]


def line_facts(line: TemplateOccurrence, approvers: Mapping[int, str]) -> dict[str, Any]:
    """A schedule line as the API and the command line give it (``approvers``: usernames by
    id)."""
    return {
        "id": line.id,
        "number": line.number,
        "label": line.label,
        "planned_at": line.planned_at,
        "state": line.state.value,
        "to_be_approved": line.to_be_approved,
        "approved_at": line.approved_at,
        "approved_by": approvers.get(line.approved_by_id) if line.approved_by_id else None,
        "to_be_started": line.to_be_started,
        "run_id": line.run_id,
        "campaign_id": line.campaign_id,
    }


def _names(session: Session, column: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = ids - {None}
    if not wanted:
        return {}
    key = column.class_.id
    return dict(session.execute(select(key, column).where(key.in_(wanted))).all())


# -- a line's decisions ---------------------------------------------------------------------------


def decide_line(
    session: Session, line: TemplateOccurrence, action: LineAction, by: User, now: datetime
) -> str | None:
    """Approve the planned line (``by``, at ``now``), let it start (operationMgt's next pass
    starts it once its date came) or skip it, unless it changed meanwhile: then the session
    is rolled back and the answer is why not, in the reader's language. The caller records
    ``line_audit`` and commits."""
    changed = session.execute(
        update(TemplateOccurrence)
        .where(
            TemplateOccurrence.id == line.id,
            TemplateOccurrence.state == OccurrenceState.PLANNED,
            *_line_conditions(action),
        )
        .values(**_line_values(action, by, now))
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        session.refresh(line)
        return None
    session.rollback()  # the line and its template read again, as they are now
    return _refusal(session, line, action)


def line_audit(
    line: TemplateOccurrence, action: LineAction
) -> tuple[str, str, int, StoredText, dict[str, Any]]:
    """The audit entry of a decision about the line: action, target type and id, summary and
    details."""
    return (
        f"schedule_line.{action}",
        "campaign_template",
        line.template_id,
        _summary(action, line.label),
        {"line_id": line.id, "number": line.number},
    )


def _summary(action: LineAction, label: str) -> StoredText:
    if action == "approve":
        return stored("{line}: approved", line=label)
    if action == "start":
        return stored("{line}: to be started", line=label)
    return stored("{line}: skipped", line=label)


def _line_conditions(action: LineAction) -> tuple[ColumnElement[bool], ...]:
    line = TemplateOccurrence
    if action == "approve":
        return (line.to_be_approved, line.approved_at.is_(None))
    if action == "start":
        active = select(CampaignTemplate.id).where(CampaignTemplate.active)
        return (line.to_be_started.is_(False), line.template_id.in_(active))
    return ()


def _line_values(action: LineAction, by: User, now: datetime) -> dict[str, Any]:
    if action == "approve":
        return {"approved_at": now, "approved_by_id": by.id}
    if action == "start":
        return {"to_be_started": True}
    return {"state": OccurrenceState.SKIPPED}


def _refusal(session: Session, line: TemplateOccurrence, action: LineAction) -> str:
    """Why ``action`` did not apply to the line as it is now."""
    label = line.label
    if line.state is not OccurrenceState.PLANNED:
        state = t(f"templates.line.state.{line.state.value}")
        return t("templates.line.not_planned", line=label, state=state)
    if action == "approve" and not line.to_be_approved:
        return t("templates.line.no_approval_needed", line=label)
    if action == "approve":
        user = session.get(User, line.approved_by_id) if line.approved_by_id else None
        return t(
            "templates.line.already_approved",
            line=label,
            user=user.username if user else t("templates.line.approver_unknown"),
            at=format_datetime(line.approved_at),
        )
    if action == "start" and not line.template.active:
        return t("templates.line.template_inactive", line=label)
    return t("templates.line.already_to_start", line=label)


# -- deleting -------------------------------------------------------------------------------------


def has_started(session: Session, template_id: int) -> bool:
    """Whether one of the template's lines started: then it is kept (and paused instead)."""
    return bool(session.scalar(select(_started(template_id))))


def delete_if_unstarted(session: Session, template: CampaignTemplate) -> str | None:
    """Delete the template with its planned and skipped lines, unless one of its lines
    started, also at this moment (a conditional delete): then the session is rolled back and
    the answer is why not, in the reader's language. The caller records
    ``deletion_audit``, read before, and commits."""
    name = template.name
    deleted = session.execute(
        delete(CampaignTemplate)
        .where(CampaignTemplate.id == template.id, ~_started(template.id))
        .execution_options(synchronize_session=False)
    ).rowcount
    if deleted:
        return None
    session.rollback()
    return t("templates.delete_refused", name=name)


def deletion_audit(template: CampaignTemplate) -> tuple[str, str, int, str, dict[str, Any]]:
    """The audit entry of deleting the template: action, target type and id, summary and
    details (how many lines went with it)."""
    return (
        "campaign_template.delete",
        "campaign_template",
        template.id,
        template.name,
        {"lines": len(template.occurrences)},
    )


def _started(template_id: int) -> ColumnElement[bool]:
    return (
        select(TemplateOccurrence.id)
        .where(
            TemplateOccurrence.template_id == template_id,
            (TemplateOccurrence.state == OccurrenceState.STARTED)
            | TemplateOccurrence.started_at.is_not(None),
        )
        .exists()
    )
