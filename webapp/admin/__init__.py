"""Administration: users and roles, user groups, plugins, queues and failed jobs, the audit
log."""

from webapp.admin.views import bp

__all__ = ["bp"]
