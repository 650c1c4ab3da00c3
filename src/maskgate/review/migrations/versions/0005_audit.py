"""audit: items.audit marks a pair the gate decided alone, drawn for people to check

Revision ID: 0005
Revises: 0004

Existing items are not audit items (false).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the table): SQLite then keeps the foreign keys that
    # slots, assignments and answers hold on items as they are.
    op.add_column("items", sa.Column("audit", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("audit")
