-- Message bodies move out of postern_queue.message into rows of 256 KiB, so that no statement
-- and no buffer carries a whole message (up to 25 MiB) on the way into the queue or out of it.
--
-- Expand step of expand/contract: during a rolling update, replicas older than this migration
-- run on the same database. They still write and read postern_queue.message, so the column
-- stays (nullable) until `mailadmin migrate --contract` (0006) drops it after the rollout. New
-- code never writes it and reads both layouts (schema/src/message_chunks.cpp).
CREATE TABLE postern_message_chunks (
  message_id text    NOT NULL REFERENCES postern_queue (id) ON DELETE CASCADE,
  seq        integer NOT NULL CHECK (seq >= 0),      -- 0-based; every chunk but the last is full
  data       bytea   NOT NULL,
  PRIMARY KEY (message_id, seq)
);

ALTER TABLE postern_queue ALTER COLUMN message DROP NOT NULL;

-- Every message queued so far moves into chunks: substring over generate_series, 262144 octets
-- (schema::kChunkSize) each; an empty body has no chunk.
INSERT INTO postern_message_chunks (message_id, seq, data)
SELECT q.id, s.seq, substring(q.message FROM s.seq * 262144 + 1 FOR 262144)
  FROM postern_queue q,
       generate_series(0, ceil(octet_length(q.message) / 262144.0)::integer - 1) AS s(seq)
 WHERE q.message IS NOT NULL;
UPDATE postern_queue SET message = NULL WHERE message IS NOT NULL;

-- Slice `seq` of a body still whole in postern_queue.message (queued by an older replica during
-- the rollout), or NULL past its end. New code reads legacy bodies only through this function, so
-- its prepared statements stay valid when 0006 drops the column (and replaces this function).
CREATE FUNCTION postern_legacy_message_slice(text, integer, integer) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT substring(q.message FROM ($2 * $3 + 1)::integer FOR $3)
    FROM postern_queue q
   WHERE q.id = $1 AND $2 >= 0 AND $2::bigint * $3 < octet_length(q.message)
$$;

-- Older replicas read a claimed message's body only from postern_queue.message: one stored in
-- chunks would go out empty. So their claims skip such messages (a BEFORE trigger that returns
-- NULL leaves the row untouched and out of the claim's RETURNING); a replica that reads chunks
-- says so on each connection with the setting postern.reads_chunks = on. The skipped messages
-- stay due for the new replicas. Dropped by 0006, once no older replica runs.
CREATE FUNCTION postern_queue_claim_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('postern.reads_chunks', true) IS DISTINCT FROM 'on' THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER postern_queue_claim_guard
  BEFORE UPDATE OF lease_owner ON postern_queue
  FOR EACH ROW
  WHEN (NEW.lease_owner IS NOT NULL AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner
        AND NEW.message IS NULL)
  EXECUTE FUNCTION postern_queue_claim_guard();
