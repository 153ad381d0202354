-- Every change mailadmin makes: who (OS user or --actor), what, to what, when.
CREATE TABLE postern_audit (
  id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text        NOT NULL,
  action  text        NOT NULL,
  subject text        NOT NULL,
  detail  text        NOT NULL DEFAULT ''
);
CREATE INDEX postern_audit_at ON postern_audit (at);
