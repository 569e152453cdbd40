"""Alembic environment: run by wattlog.store.migrate with a connection, or offline for --sql output."""

from alembic import context

from wattlog.store.migrate import VERSION_TABLE
from wattlog.store.schema import metadata

config = context.config

if context.is_offline_mode():
    context.configure(dialect_name=config.attributes.get("dialect_name", "sqlite"), target_metadata=metadata,
                      literal_binds=True, version_table=VERSION_TABLE)
else:
    # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
    context.configure(connection=config.attributes["connection"], target_metadata=metadata,
                      version_table=VERSION_TABLE, render_as_batch=True)

with context.begin_transaction():
    context.run_migrations()
