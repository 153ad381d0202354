-- Sealed queue bodies: with queue.seal_key_files set, every chunk of a message's body and its
-- share seed are stored encrypted (schema/include/postern/schema/seal.hpp); seal_key names the
-- key they were sealed under (NULL: stored in clear). The envelope stays in clear.
--
-- Expand only. A replica older than this migration would deliver the ciphertext: its claims skip
-- sealed messages (the guard below), which stay due for the replicas that open seals and say so
-- on each connection (postern.opens_seals = on).
ALTER TABLE postern_queue ADD COLUMN seal_key text CHECK (seal_key ~ '^[A-Za-z0-9._-]{1,64}$');

-- A sealed share seed is its 32 bytes with the seal's framing around them.
ALTER TABLE postern_queue DROP CONSTRAINT postern_queue_share_seed_check;
ALTER TABLE postern_queue
  ADD CONSTRAINT postern_queue_share_seed_check
  CHECK (octet_length(share_seed) = 32 OR (seal_key IS NOT NULL AND octet_length(share_seed) > 32));

-- `mailadmin queue reseal` finds the messages not under the sealing key.
CREATE INDEX postern_queue_seal_key ON postern_queue (seal_key);

CREATE FUNCTION postern_queue_seal_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('postern.opens_seals', true) IS DISTINCT FROM 'on' THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER postern_queue_seal_guard
  BEFORE UPDATE OF lease_owner ON postern_queue
  FOR EACH ROW
  WHEN (NEW.lease_owner IS NOT NULL AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner
        AND NEW.seal_key IS NOT NULL)
  EXECUTE FUNCTION postern_queue_seal_guard();
