"""The `web` blueprint every page module registers its routes on."""

from __future__ import annotations

from flask import Blueprint

web_blueprint = Blueprint("web", __name__)
