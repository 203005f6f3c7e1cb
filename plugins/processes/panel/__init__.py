"""The bundle's panel screens, one blueprint per area; ``bp`` holds the templates they
share (the dashboard's process panel)."""

from flask import Blueprint

bp = Blueprint("processes", __name__, template_folder="templates")
