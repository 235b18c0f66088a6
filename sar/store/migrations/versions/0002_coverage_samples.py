"""Coverage samples: the river's coverage by the available boats over time, for the reports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "coverage_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gap_km", sa.Float(), nullable=False),
        sa.Column("worst_eta_s", sa.Float(), nullable=True),
        sa.Column("mean_eta_s", sa.Float(), nullable=True),
        sa.Column("boats_available", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_coverage_samples_time"), "coverage_samples", ["time"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_coverage_samples_time"), table_name="coverage_samples")
    op.drop_table("coverage_samples")
