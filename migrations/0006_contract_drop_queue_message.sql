-- Contract step of 0005: postern_queue.message goes, once no replica older than 0005 runs.
--
-- A migration whose name starts with "contract_" is applied only by `mailadmin migrate
-- --contract`, which an operator runs after the rollout finished; plain `mailadmin migrate` (the
-- Kubernetes migration Job) leaves it pending, and a replica is ready without it. Before this
-- file runs, `--contract` moves every body still whole in the column (queued by an older replica
-- during the rollout) into chunks. A body that appears after that means an older replica is still
-- queueing: then this step refuses, and nothing changes.
-- No replica queues or claims meanwhile; the check and the drop below take a moment.
LOCK TABLE postern_queue IN ACCESS EXCLUSIVE MODE;

DO $$
DECLARE
  whole integer;
BEGIN
  SELECT count(*) INTO whole FROM postern_queue WHERE message IS NOT NULL;
  IF whole > 0 THEN
    RAISE EXCEPTION 'postern_queue.message still holds % message bodies: a replica older than migration 5 is still queueing. Finish the rollout, then run mailadmin migrate --contract again', whole;
  END IF;
END
$$;

DROP TRIGGER postern_queue_claim_guard ON postern_queue;
DROP FUNCTION postern_queue_claim_guard();

-- Kept, with the same signature, for the prepared statements of running replicas.
CREATE OR REPLACE FUNCTION postern_legacy_message_slice(text, integer, integer) RETURNS bytea
LANGUAGE sql STABLE AS $$ SELECT NULL::bytea $$;

ALTER TABLE postern_queue DROP COLUMN message;
