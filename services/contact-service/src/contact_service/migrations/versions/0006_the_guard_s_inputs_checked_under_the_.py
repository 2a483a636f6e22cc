"""The guard's inputs checked under the case's lock in the write (an attempt in two round trips)

`cs_check_inputs` lets a contact attempt or promise be decided on inputs read without the
case's lock and written in one statement that first takes the lock and reads the inputs again
(readmodel/repository/commands.py): if they changed, it raises (SQLSTATE AR001) and nothing
of the statement is written; the request then decides again under the lock. The reading
runs inside a function because a statement that waited for a row lock keeps the snapshot it
began with, whereas each query of a VOLATILE function takes a new one, seeing what the
lock's holder wrote. The query is the caller's (a constant of the service; the values are
bound parameters). It also answers whether an earlier command to the case is still on its
way, read after the lock for the same reason. Idempotent (CREATE OR REPLACE).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:47:31.301427
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CHECK_INPUTS = """
CREATE OR REPLACE FUNCTION cs_check_inputs(
  p_case text, p_query text, p_digest text, p_since timestamptz, p_exclude text,
  p_command text, p_key text, p_body text, p_answered bigint[]
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  digest text;
  behind boolean;
BEGIN
  PERFORM 1 FROM cs_cases WHERE case_id = p_case FOR UPDATE;
  EXECUTE p_query INTO digest USING p_case, p_since, p_exclude, p_command, p_key, p_body;
  IF digest IS DISTINCT FROM p_digest THEN
    RAISE EXCEPTION 'the guard''s inputs for case % changed', p_case USING ERRCODE = 'AR001';
  END IF;
  SELECT EXISTS (SELECT 1 FROM command_outbox o
                 WHERE o.case_id = p_case AND o.delivered_at IS NULL
                   AND o.id <> ALL(p_answered)) INTO behind;
  RETURN behind;
END
$$
"""


def upgrade() -> None:
    op.execute(CHECK_INPUTS)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS cs_check_inputs(text, text, text, timestamptz, text, text,"
        " text, text, bigint[])"
    )
