"""designer: process drafts, form versions, the form version a human task was given

Revision ID: 4d1e7a9c2b30
Revises: 6c25997563a9
Create Date: 2026-11-23 18:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '4d1e7a9c2b30'
down_revision = '6c25997563a9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('process_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('base_version_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['base_version_id'], ['process_version.id'],
                            name='fk_process_draft_base_version_id_process_version'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                            name='fk_process_draft_created_by_id_user_account'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                            name='fk_process_draft_updated_by_id_user_account'),
    sa.PrimaryKeyConstraint('id', name='pk_process_draft')
    )
    with op.batch_alter_table('process_draft', schema=None) as batch_op:
        batch_op.create_index('ix_process_draft_process_key', ['process_key'], unique=False)

    op.create_table('form_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                            name='fk_form_version_created_by_id_user_account'),
    sa.PrimaryKeyConstraint('id', name='pk_form_version'),
    sa.UniqueConstraint('key', 'number', name='uq_form_version_key_number')
    )
    with op.batch_alter_table('form_version', schema=None) as batch_op:
        batch_op.create_index('ix_form_version_key', ['key'], unique=False)
        batch_op.create_index('ix_form_version_active_key', ['key'], unique=True,
                              postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))

    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_human_task_form_version_id_form_version', 'form_version',
                                    ['form_version_id'], ['id'])


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_constraint('fk_human_task_form_version_id_form_version', type_='foreignkey')
        batch_op.drop_column('form_version_id')
    with op.batch_alter_table('form_version', schema=None) as batch_op:
        batch_op.drop_index('ix_form_version_active_key')
        batch_op.drop_index('ix_form_version_key')
    op.drop_table('form_version')
    with op.batch_alter_table('process_draft', schema=None) as batch_op:
        batch_op.drop_index('ix_process_draft_process_key')
    op.drop_table('process_draft')
