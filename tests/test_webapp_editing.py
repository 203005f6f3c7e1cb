"""webapp.editing: what the panel's editing screens share."""

from __future__ import annotations

from core.messages import stored
from webapp.editing import change_summary


def test_a_change_is_summarised_field_by_field():
    fields = {"role": stored("role"), "active": stored("active")}
    summary = change_summary({"role": ["viewer", "admin"], "active": [True, False]}, fields)
    assert summary.english() == "Changed: role: viewer → admin, active: yes → no"
