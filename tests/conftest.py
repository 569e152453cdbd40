"""Fixtures shared by the test modules (PostgreSQL helpers live in pg.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from alarm_servers import http_recorder, smtp_server  # noqa: E402,F401
from fullfs import *  # noqa: E402,F401,F403
from mqtt import *  # noqa: E402,F401,F403
from mysql import *  # noqa: E402,F401,F403
from pg import *  # noqa: E402,F401,F403
from powercut import *  # noqa: E402,F401,F403
