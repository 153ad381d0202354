-- Mail that comes in through an inbound (port 25 style) or LMTP listener: a catch-all for trap
-- domains. It has no authenticated user, its sender may be forged, and a route may fan it out to
-- several upstreams (a journal and a maildir backup).
--
-- Expand only: older replicas never read these columns, and they never claim a message with
-- copies (it carries a share seed: the guard of migration 0008).

-- Inbound mail was submitted by nobody: NULL.
ALTER TABLE postern_queue ALTER COLUMN auth_user DROP NOT NULL;

-- Which kind of listener took the message, for `mailadmin queue show` and the DSN decision.
ALTER TABLE postern_queue
  ADD COLUMN intake text NOT NULL DEFAULT 'submission' CHECK (intake IN ('submission', 'inbound', 'lmtp'));

-- Whether a recipient that finally fails makes a DSN to the sender. Off for inbound mail by
-- default (its senders are forged: a DSN would be backscatter); such a message stays in the queue
-- with its failed recipients until it is deleted or its lifetime ends.
ALTER TABLE postern_queue ADD COLUMN dsn boolean NOT NULL DEFAULT true;

-- A recipient whose route names several upstreams is delivered as copies: the whole message to
-- each destination (its upstream), each tracked and retried on its own in
-- postern_queue_destinations, as the shares of a shared recipient are. share_threshold holds the
-- number of copies; share_format is NULL.
ALTER TABLE postern_queue_recipients DROP CONSTRAINT postern_queue_recipients_share_scheme_check;
ALTER TABLE postern_queue_recipients
  ADD CONSTRAINT postern_queue_recipients_share_scheme_check CHECK (share_scheme IN ('xor', 'shamir', 'copy'));
