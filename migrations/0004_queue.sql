-- The mail queue, beside the grants, so relay replicas hold no state. A message row commits
-- together with its recipients in one statement before the client hears 250.
CREATE TABLE postern_queue (
  id              text        PRIMARY KEY,          -- the id in "250 2.0.0 Ok: queued as <id>"
  sender          text        NOT NULL,             -- envelope MAIL FROM
  auth_user       text        NOT NULL,             -- who submitted it
  client_address  text        NOT NULL,
  helo            text        NOT NULL DEFAULT '',
  body_type       text        NOT NULL DEFAULT '7BIT' CHECK (body_type IN ('7BIT', '8BITMIME')),
  smtputf8        boolean     NOT NULL DEFAULT false,
  message         bytea       NOT NULL,             -- exactly as it will be delivered
  size            integer     NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  attempts        integer     NOT NULL DEFAULT 0,
  held            boolean     NOT NULL DEFAULT false,
  lease_owner     text,                             -- the replica delivering it, until lease_until
  lease_until     timestamptz,
  last_error      text
);
-- Delivery workers look for due, unheld messages.
CREATE INDEX postern_queue_due ON postern_queue (next_attempt_at) WHERE NOT held;

CREATE TABLE postern_queue_recipients (
  message_id text        NOT NULL REFERENCES postern_queue (id) ON DELETE CASCADE,
  position   integer     NOT NULL,
  recipient  text        NOT NULL,
  status     text        NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts   integer     NOT NULL DEFAULT 0,
  last_reply text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, position)
);
