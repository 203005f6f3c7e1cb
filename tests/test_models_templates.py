"""Campaign templates: schedules, schedule lines with "#n", and what the database refuses."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from plugins.processes.models import (
    CampaignTemplate,
    Frequency,
    TemplateKind,
    TemplateOccurrence,
)

from process_helpers import campaign

FIRST = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)


def template(session, kind=TemplateKind.RECURRING, **fields) -> CampaignTemplate:
    row = CampaignTemplate(
        name=fields.pop("name", "Monatsbrief"),
        kind=kind,
        campaign_id=campaign(session, fields.pop("campaign_name", "Vorlage")).id,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def test_monthly_dates_keep_the_day_and_fall_back_to_the_end_of_short_months(database):
    with database.session() as session:
        monthly = template(session, frequency=Frequency.MONTHLY, first_at=FIRST)
        dates = list(monthly.planned_dates(datetime(2026, 5, 31, 9, 0, tzinfo=UTC)))
    assert [(d.month, d.day) for d in dates] == [(1, 31), (2, 28), (3, 31), (4, 30), (5, 31)]
    assert all(d.hour == 9 and d.tzinfo is not None for d in dates)


@pytest.mark.parametrize(
    ("frequency", "every", "until", "expected"),
    [
        (Frequency.DAILY, 2, None, [0, 2, 4, 6]),
        (Frequency.WEEKLY, 1, None, [0]),
        (Frequency.DAILY, 1, FIRST + timedelta(days=2), [0, 1, 2]),
    ],
)
def test_daily_and_weekly_dates_up_to_the_horizon_or_the_end(
    database, frequency, every, until, expected
):
    with database.session() as session:
        row = template(session, frequency=frequency, every=every, first_at=FIRST, until=until)
        dates = list(row.planned_dates(FIRST + timedelta(days=6)))
    assert [(d - FIRST).days for d in dates] == expected


@pytest.mark.parametrize("frequency", list(Frequency))
@pytest.mark.parametrize("every", [1, 3])
def test_dates_since_a_moment_are_the_later_dates_of_the_whole_schedule(database, frequency, every):
    """The list and operationMgt start at today's date, not at a first date years back."""
    through = FIRST + timedelta(days=800)
    with database.session() as session:
        recent = template(session, frequency=frequency, every=every, first_at=FIRST)
        long_ago = template(session, name="Seit 1900", campaign_name="Alt", frequency=frequency,
                            every=every, first_at=FIRST.replace(year=1900))  # fmt: skip
        for row in (recent, long_ago):
            whole = list(row.planned_dates(through))
            for since in (FIRST - timedelta(days=1), FIRST, whole[-5], whole[-5] + timedelta(1)):
                assert list(row.planned_dates(through, since=since)) == [
                    day for day in whole if day >= since
                ]


def test_a_unique_template_has_no_dates(database):
    with database.session() as session:
        assert list(template(session, TemplateKind.UNIQUE).planned_dates(FIRST)) == []


def test_schedule_lines_are_numbered_labelled_and_know_their_date(database):
    with database.session() as session:
        recurring = template(session, frequency=Frequency.WEEKLY, first_at=FIRST,
                             create_in_advance_days=14, to_be_approved=True)  # fmt: skip
        horizon = recurring.horizon(FIRST)
        for number, planned in enumerate(recurring.planned_dates(horizon), start=1):
            session.add(TemplateOccurrence.for_template(recurring, number, planned))
        session.flush()
        lines = recurring.occurrences
        assert [(line.number, line.label, line.planned_at) for line in lines] == [
            (1, "Monatsbrief #1", FIRST),
            (2, "Monatsbrief #2", FIRST + timedelta(weeks=1)),
            (3, "Monatsbrief #3", FIRST + timedelta(weeks=2)),
        ]
        assert [line.to_be_approved for line in lines] == [True, True, True]


@pytest.mark.parametrize(
    "duplicate", [{"number": 1, "days": 7}, {"number": 2, "days": 0}], ids=["number", "date"]
)
def test_a_schedule_line_exists_once_per_number_and_date(database, duplicate):
    with database.session() as session:
        row = template(session, frequency=Frequency.WEEKLY, first_at=FIRST)
        session.add(TemplateOccurrence.for_template(row, 1, FIRST))
    with pytest.raises(IntegrityError), database.session() as session:
        planned = FIRST + timedelta(days=duplicate["days"])
        session.add(TemplateOccurrence.for_template(row, duplicate["number"], planned))


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": TemplateKind.RECURRING},
        {"kind": TemplateKind.PERIODIC, "frequency": Frequency.DAILY},
        {"kind": TemplateKind.RECURRING, "frequency": "daily", "first_at": FIRST, "every": 0},
        {"kind": TemplateKind.PERIODIC, "frequency": "daily", "first_at": FIRST,
         "until": FIRST - timedelta(days=1)},
    ],
    ids=["no schedule", "no first date", "every 0", "ends before it starts"],
)  # fmt: skip
def test_a_scheduled_template_needs_a_sound_schedule(database, fields):
    with pytest.raises(IntegrityError), database.session() as session:
        template(session, **fields)


def test_each_campaign_is_the_model_of_one_template_at_most(database):
    with database.session() as session:
        first = template(session, TemplateKind.UNIQUE)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(CampaignTemplate(name="Zweite", kind="unique", campaign_id=first.campaign_id))
