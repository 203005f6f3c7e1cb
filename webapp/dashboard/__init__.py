"""The start page of the web panel."""

from webapp.dashboard.messages import MESSAGES as _PAGE_MESSAGES
from webapp.dashboard.processes import MESSAGES as _PROCESS_MESSAGES
from webapp.dashboard.views import bp

MESSAGES = {**_PAGE_MESSAGES, **_PROCESS_MESSAGES}

__all__ = ["MESSAGES", "bp"]
