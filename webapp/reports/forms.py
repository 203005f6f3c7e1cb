"""The report editor's forms and how their values reach a ``Report``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from core.documents.rendering import ADDRESS_ELEMENT, SUB_REPORTS
from core.documents.templating import TemplateError
from core.models import AddressKind, Orientation, PageFormat, Report
from webapp.forms import PanelForm, add_error
from webapp.i18n import stored_text, t

MARGIN = NumberRange(min=0, max=100)


def _stripped(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ReportForm(PanelForm):
    name = StringField(filters=[_stripped], validators=[DataRequired(), Length(max=200)])
    group = StringField(
        filters=[_stripped],
        validators=[Optional(), Length(max=100)],
        render_kw={"list": "report-groups", "autocomplete": "off"},
    )
    description = TextAreaField(validators=[Optional()])
    usable_for_mass_print = BooleanField()
    distribution_list = BooleanField()
    address_kind = SelectField(choices=[kind.value for kind in AddressKind])
    page_format = SelectField(choices=[page.value for page in PageFormat])
    orientation = SelectField(choices=[value.value for value in Orientation])
    margin_top = FloatField(validators=[InputRequired(), MARGIN])
    margin_right = FloatField(validators=[InputRequired(), MARGIN])
    margin_bottom = FloatField(validators=[InputRequired(), MARGIN])
    margin_left = FloatField(validators=[InputRequired(), MARGIN])
    address_window = BooleanField()
    letterhead_id = SelectField(coerce=int, choices=[], validate_choice=False)
    header_id = SelectField(coerce=int, choices=[], validate_choice=False)
    footer_id = SelectField(coerce=int, choices=[], validate_choice=False)
    layout = TextAreaField()
    stylesheet = TextAreaField()
    sample = StringField(validators=[Optional(), Length(max=200)])
    """The contact the preview is rendered for (number or name); never stored."""
    layout_error: TemplateError | None = None

    def offer_sub_reports(self, session: Session, report_id: int | None) -> None:
        """Every other report may serve as letterhead, header or footer."""
        rows = session.execute(
            select(Report.id, Report.name, Report.group).order_by(Report.group, Report.name)
        ).all()
        choices = [(0, t("reports.sub_report.none"))] + [
            (row.id, f"{row.name} ({row.group})" if row.group else row.name)
            for row in rows
            if row.id != report_id
        ]
        for name in SUB_REPORTS:
            getattr(self, f"{name}_id").choices = choices

    def fill(self, report: Report, session: Session) -> bool:
        """Copy the values into ``report``; False (errors next to the fields) if any is wrong.

        The layout is compiled on assignment, so a syntax error comes back with its line.
        """
        ok = True
        name = self.name.data
        taken = session.scalar(select(Report.id).where(Report.name == name, Report.id != report.id))
        if taken is not None:
            add_error(self.name, t("reports.error.name_taken", name=name))
            ok = False
        if self.address_window.data and (
            self.page_format.data != PageFormat.A4 or self.orientation.data != Orientation.PORTRAIT
        ):
            add_error(self.address_window, t("reports.error.window_needs_a4"))
            ok = False
        if self.address_window.data and not ADDRESS_ELEMENT.search(self.layout.data or ""):
            add_error(self.layout, t("reports.error.window_needs_address"))
            ok = False
        sub_reports = {}
        for part in SUB_REPORTS:
            field = getattr(self, f"{part}_id")
            offered = {value for value, _label in field.choices}
            chosen = session.get(Report, field.data) if field.data in offered else None
            if field.data and (chosen is None or chosen.id == report.id):
                add_error(field, t("reports.error.sub_report"))
                ok = False
            sub_reports[part] = chosen
        try:
            report.layout = self.layout.data or ""
        except TemplateError as exc:
            add_error(self.layout, template_error_text(exc))
            self.layout_error = exc
            ok = False
        if not ok:
            return False
        report.name = name
        report.group = (self.group.data or "").strip()
        report.description = self.description.data or ""
        report.usable_for_mass_print = self.usable_for_mass_print.data
        report.distribution_list = self.distribution_list.data
        report.address_kind = AddressKind(self.address_kind.data)
        report.page_format = PageFormat(self.page_format.data)
        report.orientation = Orientation(self.orientation.data)
        report.margin_top = self.margin_top.data
        report.margin_right = self.margin_right.data
        report.margin_bottom = self.margin_bottom.data
        report.margin_left = self.margin_left.data
        report.address_window = self.address_window.data
        report.stylesheet = self.stylesheet.data or ""
        for part, chosen in sub_reports.items():
            setattr(report, part, chosen)
        return True

    def load(self, report: Report) -> None:
        """Show a stored report (for GET)."""
        self.process(obj=report)
        for part in SUB_REPORTS:
            getattr(self, f"{part}_id").data = getattr(report, f"{part}_id") or 0


def template_error_text(exc: TemplateError) -> str:
    reason = stored_text(exc.reason)
    if exc.lineno:
        return t("reports.error.template_line", line=exc.lineno, reason=reason)
    return t("reports.error.template", reason=reason)


class AddressPatternForm(PanelForm):
    name = StringField(filters=[_stripped], validators=[DataRequired(), Length(max=200)])
    countries = StringField(validators=[Optional(), Length(max=500)])
    template = TextAreaField(validators=[InputRequired()])


class TextBlockForm(PanelForm):
    name = StringField(filters=[_stripped], validators=[DataRequired(), Length(max=63)])
    body = TextAreaField(validators=[InputRequired()])


class ConfirmForm(PanelForm):
    """A button that needs nothing but the CSRF token (delete, copy)."""

    confirm = HiddenField(default="1")
