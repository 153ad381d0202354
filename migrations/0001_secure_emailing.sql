-- The Secure Emailing schema as that system deployed it: numeric(10) ids taken from max(id)+1,
-- unsalted MD5 passwords. On a fresh database this creates it; on an existing Secure Emailing
-- database it changes nothing. Migration 0002 then upgrades both in place, so there is one path.
CREATE TABLE IF NOT EXISTS emailing_users (
  id     numeric(10)  CONSTRAINT pk_emailing_users_id PRIMARY KEY,
  name   varchar(200) NOT NULL CONSTRAINT ck_emailing_users_name UNIQUE,
  passwd varchar(200) NOT NULL
);

CREATE TABLE IF NOT EXISTS emailing_addresses (
  id      numeric(10)  CONSTRAINT pk_emailing_addresses_id PRIMARY KEY,
  address varchar(200) NOT NULL CONSTRAINT ck_emailing_addresses_address UNIQUE
);

CREATE TABLE IF NOT EXISTS emailing_domains (
  id     numeric(10)  CONSTRAINT pk_emailing_domains_id PRIMARY KEY,
  domain varchar(200) NOT NULL CONSTRAINT ck_emailing_domains_domain UNIQUE
);

CREATE TABLE IF NOT EXISTS emailing_users_addresses (
  id_user    numeric(10) NOT NULL CONSTRAINT fk_id_user REFERENCES emailing_users (id),
  id_address numeric(10) NOT NULL CONSTRAINT fk_id_address REFERENCES emailing_addresses (id),
  CONSTRAINT pk_emailing_users_addresses PRIMARY KEY (id_user, id_address)
);

CREATE TABLE IF NOT EXISTS emailing_users_domains (
  id_user   numeric(10) NOT NULL CONSTRAINT fk_id_user_domain REFERENCES emailing_users (id),
  id_domain numeric(10) NOT NULL CONSTRAINT fk_id_domain REFERENCES emailing_domains (id),
  CONSTRAINT pk_emailing_users_domains PRIMARY KEY (id_user, id_domain)
);
