"""server-side sessions, login throttling, allowed image roots

Revision ID: 0004
Revises: 0003

Roots that imports registered before this revision stay allowed (``added_by`` 'legacy'), except
a file system root (``/``, ``C:\\``): the old import could store one as the common parent of
absolute paths, and it would let any reviewer read any image the server can. It is kept as a
base for its items' paths but no longer serves anything; register the real image folders with
``maskgate review roots add``.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN (no batch copy): items reference roots, and SQLite would refuse
    # to drop and recreate a referenced table with foreign keys on.
    op.add_column("roots", sa.Column("allowed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("roots", sa.Column("added_by", sa.String(16), nullable=False, server_default="import"))
    op.add_column("roots", sa.Column("created_at", sa.Float(), nullable=False, server_default="0"))
    conn = op.get_bind()
    roots = sa.table("roots", sa.column("id"), sa.column("path"), sa.column("allowed"), sa.column("added_by"))
    for rid, path in conn.execute(sa.select(roots.c.id, roots.c.path)).all():
        p = Path(path)
        conn.execute(roots.update().where(roots.c.id == rid).values(allowed=p.parent != p, added_by="legacy"))
    op.create_table(
        "auth_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.Column("client", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_auth_sessions_user", "auth_sessions", ["user_id"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_index("ix_auth_sessions_user", table_name="auth_sessions")
    op.drop_table("auth_sessions")
    # ALTER TABLE DROP COLUMN (SQLite 3.35+), for the same reason as in upgrade.
    for col in ("created_at", "added_by", "allowed"):
        op.drop_column("roots", col)
