"""The web dashboard and REST API: an ASGI app over an open store (and, in the service, the live state).

(`wattlog.webconfig`, read by the config, lives outside this package so the config never pulls in FastAPI.)
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See wattlog.web.app.create_app."""
    from .app import create_app as make

    return make(*args, **kwargs)
