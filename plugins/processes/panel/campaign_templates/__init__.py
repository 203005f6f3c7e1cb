"""Campaign templates: their schedule, and the schedule lines operationMgt creates."""

from plugins.processes.panel.campaign_templates.views import bp

__all__ = ["bp"]
