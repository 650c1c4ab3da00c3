"""queue priority: items.priority and slots.priority, next-task index on (due, priority DESC, id)

Revision ID: 0003
Revises: 0002

Existing rows get priority 0, i.e. the old order (due, id) is kept for them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Float(), nullable=False, server_default="0"))
        batch_op.drop_index("ix_slots_due")
        batch_op.create_index("ix_slots_queue", ["due", sa.text("priority DESC"), "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slots", schema=None) as batch_op:
        batch_op.drop_index("ix_slots_queue")
        batch_op.create_index("ix_slots_due", ["due", "id"], unique=False)
        batch_op.drop_column("priority")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("priority")
