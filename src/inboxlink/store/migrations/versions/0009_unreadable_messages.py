"""unreadable messages kept raw and counted per inbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unreadable", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("raw", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("inboxes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("messages_unreadable", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("inboxes", schema=None) as batch_op:
        batch_op.drop_column("messages_unreadable")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("raw")
        batch_op.drop_column("unreadable")
