"""A report imports only what it uses (issue 14): no Alembic (with mako and pygments) unless a migration
runs; the schema check without Alembic knows the same newest revision as Alembic."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

from analytics_synth import local, make_store, series, write

from wattlog.store import migrate

D = date(2026, 3, 2)
HEAVY = ("alembic", "mako", "pygments")
PROBE = """
import json, sys
from wattlog.store import Store
from wattlog.cli import main
Store(sys.argv[1], site="t").migrate()  # at the newest revision: nothing to run
try:
    main(["report", "ranking", "--db", sys.argv[1], "--from", "2026-03-02", "--to", "2026-03-03"],
         standalone_mode=False)
finally:
    print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_newest_revision_without_alembic_is_alembics_head():
    assert migrate.newest() == migrate.head()


def test_a_report_on_a_current_database_does_not_import_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    store = make_store(url)
    store.ensure_meter("m", location="m")
    write(store, series("m", local(D), local(D + timedelta(days=1)), lambda t: 2000.0, step=60))
    store.close()
    done = subprocess.run([sys.executable, "-c", PROBE, url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "sqlalchemy" in loaded and "wattlog" in loaded  # the probe did run a report
    assert not loaded & set(HEAVY), f"imported: {loaded & set(HEAVY)}"


def test_a_shipped_tariff_by_name_is_its_file_and_the_same_as_from_the_full_list():
    from wattlog.tariffs.load import list_tariffs, load_tariff

    for t in list_tariffs():  # load_tariff reads only the file named after the id
        assert load_tariff(t.id) == t
