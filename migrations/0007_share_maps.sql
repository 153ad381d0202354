-- Share maps: mail to a mapped recipient is split into secret shares, each delivered through its
-- own upstream to one destination mailbox of the same person. Managed with `mailadmin add share`,
-- `share`, `unshare`, `set share`, `del share`; read by the relay, which caches every map and
-- drops its cache on NOTIFY postern_share_maps (schema/include/postern/schema/share_maps.hpp).
--
-- Expand only: new tables, functions and triggers; older replicas never read them. The relay's
-- role gets SELECT on the three tables through the list in schema/src/relay_grants.cpp.

-- One map per recipient address, stored as parse_address() normalises it (domain lowercase
-- A-label, local part as written). Unique ignoring case, like emailing_addresses: the relay
-- folds local parts' case when it looks a recipient up, so case variants would be ambiguous.
-- The relay finds a recipient's map by its own subaddress delimiter (bob+x@ finds bob@'s map
-- when the delimiter is "+"), so no lookup key computed with one delimiter is stored here.
CREATE TABLE postern_share_maps (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recipient  text        NOT NULL CHECK (strpos(recipient, '@') > 1),
  threshold  integer     CHECK (threshold BETWEEN 2 AND 255),  -- k of n; NULL: n of n
  format     text        NOT NULL DEFAULT 'postern' CHECK (format IN ('postern', 'privmail')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX postern_share_maps_recipient_ci ON postern_share_maps (lower(recipient));

-- Where the shares go. The order of adding is the share index (1..n): destinations are read
-- ordered by id. `upstream` names an upstream of the relay's postern.yaml (the same characters
-- the config allows); the relay refuses a map naming one it does not know. One share per
-- upstream: a provider that carried two shares would hold more than it may.
CREATE TABLE postern_share_destinations (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  map_id     bigint      NOT NULL REFERENCES postern_share_maps (id) ON DELETE CASCADE,
  mailbox    text        NOT NULL CHECK (strpos(mailbox, '@') > 1),
  upstream   text        NOT NULL CHECK (upstream ~ '^[A-Za-z0-9._-]+$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX postern_share_destinations_mailbox_ci
  ON postern_share_destinations (map_id, lower(mailbox));
CREATE UNIQUE INDEX postern_share_destinations_upstream
  ON postern_share_destinations (map_id, upstream);

-- The envelope sender a map's shares use on one upstream, when that provider requires its own
-- account there. Kept by upstream, not by destination, so it survives replacing a destination.
CREATE TABLE postern_share_envelope_from (
  map_id     bigint      NOT NULL REFERENCES postern_share_maps (id) ON DELETE CASCADE,
  upstream   text        NOT NULL CHECK (upstream ~ '^[A-Za-z0-9._-]+$'),
  address    text        NOT NULL CHECK (strpos(address, '@') > 1),
  PRIMARY KEY (map_id, upstream)
);

-- Every change, from mailadmin or from plain SQL, tells the relays at once (payload: the
-- recipient as stored), so none forwards mail for a map it has stale. NOTIFY is delivered at
-- commit and folds repeats within a transaction, so a change touching many rows wakes the
-- relays once per recipient.
CREATE FUNCTION postern_share_maps_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM pg_notify('postern_share_maps', OLD.recipient);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM pg_notify('postern_share_maps', NEW.recipient);
  END IF;
  RETURN NULL;
END
$$;

-- Destinations and envelope senders name their map by id. When the map itself is being deleted
-- (ON DELETE CASCADE), it is gone here and its own trigger has notified.
CREATE FUNCTION postern_share_map_parts_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed text;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT recipient INTO changed FROM postern_share_maps WHERE id = OLD.map_id;
    IF changed IS NOT NULL THEN
      PERFORM pg_notify('postern_share_maps', changed);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT recipient INTO changed FROM postern_share_maps WHERE id = NEW.map_id;
    IF changed IS NOT NULL THEN
      PERFORM pg_notify('postern_share_maps', changed);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

-- TRUNCATE names no row: an empty payload, which means every map.
CREATE FUNCTION postern_share_maps_notify_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('postern_share_maps', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER postern_share_maps_notify
  AFTER INSERT OR UPDATE OR DELETE ON postern_share_maps
  FOR EACH ROW EXECUTE FUNCTION postern_share_maps_notify();
CREATE TRIGGER postern_share_destinations_notify
  AFTER INSERT OR UPDATE OR DELETE ON postern_share_destinations
  FOR EACH ROW EXECUTE FUNCTION postern_share_map_parts_notify();
CREATE TRIGGER postern_share_envelope_from_notify
  AFTER INSERT OR UPDATE OR DELETE ON postern_share_envelope_from
  FOR EACH ROW EXECUTE FUNCTION postern_share_map_parts_notify();

CREATE TRIGGER postern_share_maps_truncate
  AFTER TRUNCATE ON postern_share_maps
  FOR EACH STATEMENT EXECUTE FUNCTION postern_share_maps_notify_all();
CREATE TRIGGER postern_share_destinations_truncate
  AFTER TRUNCATE ON postern_share_destinations
  FOR EACH STATEMENT EXECUTE FUNCTION postern_share_maps_notify_all();
CREATE TRIGGER postern_share_envelope_from_truncate
  AFTER TRUNCATE ON postern_share_envelope_from
  FOR EACH STATEMENT EXECUTE FUNCTION postern_share_maps_notify_all();
