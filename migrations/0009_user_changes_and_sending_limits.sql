-- What the relays cache about a user, and the per-user sending limits.
--
-- Each relay keeps verified logins, grants and sending limits in memory (server/auth/
-- credential_cache.hpp, server/policy/grant_cache.hpp, server/policy/sending_limits.hpp) and
-- drops a user's entries when PostgreSQL notifies 'postern_users' with the user's name as the
-- payload ('*': every user). The triggers below notify on every change that can matter, whoever
-- makes it (mailadmin or SQL by hand), so no relay keeps using a revoked grant, a changed
-- password or a disabled account. NOTIFY is delivered at commit and folds repeats within a
-- transaction.
--
-- Expand only: new functions, triggers and tables; older replicas never read them.

CREATE FUNCTION postern_user_changed(name text) RETURNS void
LANGUAGE sql AS $$ SELECT pg_notify('postern_users', name) $$;

-- A user: created, renamed, its password or enabled flag changed, deleted. Not the login time,
-- which the relays themselves write at every full login.
CREATE FUNCTION postern_users_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM postern_user_changed(OLD.name);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM postern_user_changed(NEW.name);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER postern_users_notify_insert_delete
  AFTER INSERT OR DELETE ON emailing_users
  FOR EACH ROW EXECUTE FUNCTION postern_users_notify();
CREATE TRIGGER postern_users_notify_update
  AFTER UPDATE ON emailing_users
  FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name
        OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
        OR OLD.enabled IS DISTINCT FROM NEW.enabled)
  EXECUTE FUNCTION postern_users_notify();

-- A grant of an address or a domain, given, taken or moved; deleting an address or a domain
-- deletes its grants (ON DELETE CASCADE), which fires this for each user that had it. The
-- trigger's argument names the row's user id column. When the user itself is being deleted its
-- row is gone here, and its own trigger has notified.
CREATE FUNCTION postern_user_rows_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  changed text;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT name INTO changed FROM emailing_users WHERE id = (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
    IF changed IS NOT NULL THEN
      PERFORM postern_user_changed(changed);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT name INTO changed FROM emailing_users WHERE id = (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
    IF changed IS NOT NULL THEN
      PERFORM postern_user_changed(changed);
    END IF;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER postern_users_addresses_notify
  AFTER INSERT OR UPDATE OR DELETE ON emailing_users_addresses
  FOR EACH ROW EXECUTE FUNCTION postern_user_rows_notify('id_user');
CREATE TRIGGER postern_users_domains_notify
  AFTER INSERT OR UPDATE OR DELETE ON emailing_users_domains
  FOR EACH ROW EXECUTE FUNCTION postern_user_rows_notify('id_user');

-- An address or a domain renamed by hand changes what every user granted it may send as;
-- TRUNCATE of any of these tables fires no row trigger. Both are rare: every user.
CREATE FUNCTION postern_all_users_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM postern_user_changed('*');
  RETURN NULL;
END
$$;
CREATE TRIGGER postern_addresses_notify
  AFTER UPDATE ON emailing_addresses
  FOR EACH STATEMENT EXECUTE FUNCTION postern_all_users_notify();
CREATE TRIGGER postern_domains_notify
  AFTER UPDATE ON emailing_domains
  FOR EACH STATEMENT EXECUTE FUNCTION postern_all_users_notify();
CREATE TRIGGER postern_users_truncate_notify
  AFTER TRUNCATE ON emailing_users
  FOR EACH STATEMENT EXECUTE FUNCTION postern_all_users_notify();
CREATE TRIGGER postern_users_addresses_truncate_notify
  AFTER TRUNCATE ON emailing_users_addresses
  FOR EACH STATEMENT EXECUTE FUNCTION postern_all_users_notify();
CREATE TRIGGER postern_users_domains_truncate_notify
  AFTER TRUNCATE ON emailing_users_domains
  FOR EACH STATEMENT EXECUTE FUNCTION postern_all_users_notify();

-- A user's own sending limits, set with `mailadmin limit`; a NULL column takes the default of
-- the relay's postern.yaml, -1 is no limit. "hour" and "day" are the two windows, whose lengths
-- the relay's config sets (3600 and 86400 s unless changed).
CREATE TABLE postern_sending_limits (
  user_id             bigint      PRIMARY KEY REFERENCES emailing_users (id) ON DELETE CASCADE,
  messages_per_hour   bigint      CHECK (messages_per_hour >= -1),
  messages_per_day    bigint      CHECK (messages_per_day >= -1),
  recipients_per_hour bigint      CHECK (recipients_per_hour >= -1),
  recipients_per_day  bigint      CHECK (recipients_per_day >= -1),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER postern_sending_limits_notify
  AFTER INSERT OR UPDATE OR DELETE ON postern_sending_limits
  FOR EACH ROW EXECUTE FUNCTION postern_user_rows_notify('user_id');

-- What each user sent, counted by each relay process in memory and added here in batches (about
-- once a second), one row per user, window and relay process, so concurrent sessions of one user
-- never wait on one row; a user's usage is the sum over the processes. `window_start` is in Unix
-- seconds, a multiple of `window_seconds`. Rows of windows that ended are deleted by the relays.
CREATE TABLE postern_sending_usage (
  user_id        bigint  NOT NULL REFERENCES emailing_users (id) ON DELETE CASCADE,
  window_seconds integer NOT NULL CHECK (window_seconds > 0),
  window_start   bigint  NOT NULL,
  replica        text    NOT NULL,
  messages       bigint  NOT NULL DEFAULT 0,
  recipients     bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, window_seconds, window_start, replica)
);
