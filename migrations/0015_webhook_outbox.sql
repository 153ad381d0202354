-- Delivery webhooks: the events each configured endpoint is to receive (webhooks.endpoints in
-- postern.yaml), written in the transaction of the change they report — a message accepted, a
-- recipient delivered, deferred, bounced or expired — so that no event is lost and none is told
-- of a change that did not commit. Rows are written only for endpoints that are configured; each
-- is deleted once its endpoint acknowledged it (a 2xx), and retried with backoff until then.
--
-- Copies, not references: the message is usually deleted by the time its events are sent.
-- Posted in `id` order per endpoint and message: a row is claimed only when no earlier row of
-- its endpoint and message is left (webhook_outbox.cpp).
CREATE TABLE postern_webhook_outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id        uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
  endpoint        text NOT NULL CHECK (endpoint ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  event           text NOT NULL CHECK (event IN ('accepted', 'delivered', 'deferred', 'bounced', 'expired')),
  message_id      text NOT NULL,
  sender          text NOT NULL,
  auth_user       text,
  intake          text NOT NULL,
  recipient       text NOT NULL,
  share_index     integer CHECK (share_index > 0),  -- NULL: the recipient itself; n: its n-th share
  reply           text,                             -- the upstream's reply or the local error
  created_at      timestamptz NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_owner     text,
  lease_until     timestamptz,
  last_error      text
);

-- The claim's order check: an earlier row of the same endpoint and message.
CREATE INDEX postern_webhook_outbox_message ON postern_webhook_outbox (endpoint, message_id, id);
-- Due rows, oldest first.
CREATE INDEX postern_webhook_outbox_due ON postern_webhook_outbox (next_attempt_at, id);
