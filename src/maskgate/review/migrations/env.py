"""Alembic environment: always run programmatically with a live connection (see ``db.migrate``)."""

from alembic import context

from maskgate.review.schema import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a bare ``alembic`` CLI call
    raise RuntimeError("run migrations through maskgate.review.db.migrate(engine)")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
