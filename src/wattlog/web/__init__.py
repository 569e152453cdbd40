"""The web dashboard and REST API: an ASGI app over an open store (and, in the service, the live state)."""

from __future__ import annotations

from .app import create_app
from .context import SiteContext

__all__ = ["SiteContext", "create_app"]
