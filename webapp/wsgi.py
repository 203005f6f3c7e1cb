"""The WSGI application for another WSGI server (``gunicorn webapp.wsgi:app``); ``campaign
serve`` runs it on waitress with the installation's limits (docs/deployment.md).

Settings come from the ``CAMPAIGN_*`` environment variables; an unreachable
database stops the start with a message naming the variable.
"""

from __future__ import annotations

from webapp import create_app, get_campaign

app = create_app()
get_campaign(app).database.check()
