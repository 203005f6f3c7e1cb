"""The WSGI application for production servers: ``gunicorn webapp.wsgi:app``.

Settings come from the ``CAMPAIGN_*`` environment variables; an unreachable
database stops the start with a message naming the variable.
"""

from __future__ import annotations

from webapp import create_app, get_campaign

app = create_app()
get_campaign(app).database.check()
