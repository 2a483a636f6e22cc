"""The guard's inputs checked under the case's lock in the write (an attempt in two round trips)

`cs_check_inputs` lets a contact attempt or promise be decided on inputs read without the
case's lock and written in one statement that first takes the lock and reads the inputs again
(readmodel/repository/commands.py): if they changed, it raises (SQLSTATE AR001) and nothing
of the statement is written; the request then decides again under the lock. The reading
runs inside a function because a statement that waited for a row lock keeps the snapshot it
began with, whereas each query of a VOLATILE function takes a new one, seeing what the
lock's holder wrote. What it reads is the service's `COMMAND_INPUTS` (held to it by
test_checked_write.py: a change there needs a migration replacing the function). It answers whether an earlier command to the case is still on its
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

# What the function reads is `commands.COMMAND_INPUTS` with its parameters named (the
# function's statement is planned once per connection, not per call); a test holds the two
# together, so a change to the inputs' query comes with a migration replacing the function.
CHECK_INPUTS = """
CREATE OR REPLACE FUNCTION cs_check_inputs(
  p_case text, p_digest text, p_since timestamptz, p_exclude text,
  p_command text, p_key text, p_body text, p_answered bigint[]
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  digest text;
  behind boolean;
BEGIN
  PERFORM 1 FROM cs_cases WHERE case_id = p_case FOR UPDATE;
  SELECT md5(row_to_json(q)::text) INTO digest FROM (
    SELECT c.case_id, c.timezone, c.status, c.candidate_timezones, c.contactability, c.flags,
      c.opted_out_channels, c.in_dispute, c.open_complaints, c.jurisdiction, c.strategy, c.arm,
      (SELECT coalesce(json_agg(json_build_object(
                'value', p.value, 'party', p.party, 'kind', p.kind, 'state', p.state,
                'opted_out', p.opted_out, 'sealed', p.sealed, 'masked', p.masked)
                ORDER BY p.position, p.value), '[]'::json)
         FROM cs_contact_points p WHERE p.case_id = c.case_id) AS points_json,
      (SELECT coalesce(json_agg(json_build_object(
                'occurred_at', a.occurred_at, 'channel', a.channel, 'party', a.party,
                'point', a.point, 'outcome', a.outcome, 'inbound', a.inbound,
                'masked', a.point_masked)
                ORDER BY a.occurred_at), '[]'::json)
         FROM cs_attempts a
        WHERE a.case_id = c.case_id
          AND (a.occurred_at >= p_since OR a.outcome = 'third_party_contact')
          AND a.fingerprint IS DISTINCT FROM p_exclude::text
          AND (a.version IS NOT NULL OR a.command_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM command_outbox o
                WHERE o.id = a.command_id AND o.outcome = 'rejected'))) AS history_json,
      (SELECT json_build_array(o.id, o.body = p_body::text::jsonb) FROM command_outbox o
        WHERE o.case_id = c.case_id AND o.command = p_command AND o.idempotency_key = p_key
      ) AS queued_json
    FROM cs_cases c WHERE c.case_id = p_case
  ) q;
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
        "DROP FUNCTION IF EXISTS cs_check_inputs(text, text, timestamptz, text, text, text,"
        " text, bigint[])"
    )
