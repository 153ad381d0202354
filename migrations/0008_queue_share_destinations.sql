-- Recipients that fan out: a recipient with a share map is delivered as n shares, each a
-- separate mail to one destination mailbox through its own upstream, with its own status,
-- attempts and last reply. The map is copied here at intake, so a later change to it never mixes
-- the shares of one message; the shares are drawn from share_seed (32 random bytes per message,
-- one derived draw per recipient), so a retry sends the same share, never one of a new draw.
--
-- Expand only. A replica older than this migration would deliver a shared recipient in clear:
-- its claims skip messages with a share seed (the guard below), which stay due for the replicas
-- that deliver shares and say so on each connection (postern.delivers_shares = on).
ALTER TABLE postern_queue ADD COLUMN share_seed bytea CHECK (octet_length(share_seed) = 32);

ALTER TABLE postern_queue_recipients
  ADD COLUMN share_scheme    text    CHECK (share_scheme IN ('xor', 'shamir')),
  ADD COLUMN share_threshold integer CHECK (share_threshold BETWEEN 2 AND 255),
  ADD COLUMN share_format    text    CHECK (share_format IN ('postern', 'privmail'));

CREATE TABLE postern_queue_destinations (
  message_id    text        NOT NULL,
  position      integer     NOT NULL,               -- the recipient's
  share_index   integer     NOT NULL CHECK (share_index BETWEEN 1 AND 255),
  mailbox       text        NOT NULL,
  upstream      text        NOT NULL,
  envelope_from text,                               -- NULL: the message's sender
  status        text        NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts      integer     NOT NULL DEFAULT 0,
  last_reply    text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, position, share_index),
  FOREIGN KEY (message_id, position) REFERENCES postern_queue_recipients (message_id, position)
    ON DELETE CASCADE
);

CREATE FUNCTION postern_queue_share_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('postern.delivers_shares', true) IS DISTINCT FROM 'on' THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER postern_queue_share_guard
  BEFORE UPDATE OF lease_owner ON postern_queue
  FOR EACH ROW
  WHEN (NEW.lease_owner IS NOT NULL AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner
        AND NEW.share_seed IS NOT NULL)
  EXECUTE FUNCTION postern_queue_share_guard();
