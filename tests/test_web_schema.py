"""Property-based requests from /openapi.json (schemathesis) against the app over a real store: no 500s."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
schemathesis = pytest.importorskip("schemathesis")
import tempfile  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from web_site import site_app  # noqa: E402

_tmp = Path(tempfile.mkdtemp(prefix="wattlog-schema-"))
APP, STORE, _ = site_app(_tmp)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case):
    case.call_and_validate(checks=[not_a_server_error])
