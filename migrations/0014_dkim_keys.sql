-- DKIM signing keys, per sender domain and selector (`mailadmin dkim add`). The private key is
-- PKCS#8 PEM, or, when mailadmin was given the queue's seal keys, that PEM sealed
-- (schema/include/postern/schema/seal.hpp, bound to "domain/selector"; seal_key names the key).
-- The relay reads them to sign at delivery; only mailadmin writes them.
CREATE TABLE postern_dkim_keys (
  domain      text NOT NULL CHECK (domain = lower(domain) AND domain <> ''),
  selector    text NOT NULL CHECK (selector ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
  algorithm   text NOT NULL CHECK (algorithm IN ('rsa2048', 'ed25519')),
  private_key bytea NOT NULL,
  seal_key    text CHECK (seal_key ~ '^[A-Za-z0-9._-]{1,64}$'),
  public_key  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (domain, selector)
);

-- Relays read the keys again at once on NOTIFY postern_dkim_keys (and every minute anyway).
CREATE FUNCTION postern_dkim_keys_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('postern_dkim_keys', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER postern_dkim_keys_notify
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON postern_dkim_keys
  FOR EACH STATEMENT EXECUTE FUNCTION postern_dkim_keys_notify();

-- The DKIM body hash (relaxed body canonicalization, SHA-256, base64), computed at intake while
-- the body streams in; the signature over the header section is made at delivery. NULL: queued
-- by an older release, or without a body hash (the message goes unsigned). Not secret: kept in
-- clear when the queue is sealed.
ALTER TABLE postern_queue ADD COLUMN dkim_body_hash text;
