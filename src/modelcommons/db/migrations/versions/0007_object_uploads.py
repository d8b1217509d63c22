"""object uploads: who sent which object's bytes to which repo; files by LFS sha256

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "object_uploads",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sha256", "repo_id", "user_id"),
    )
    with op.batch_alter_table("object_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_object_uploads_uploaded_at"), ["uploaded_at"], unique=False
        )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index("ix_files_lfs", ["lfs_sha256", "repo_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_lfs")
    with op.batch_alter_table("object_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_object_uploads_uploaded_at"))
    op.drop_table("object_uploads")
