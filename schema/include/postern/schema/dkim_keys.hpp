// DKIM signing keys per sender domain and selector (migration 0014): made and kept by mailadmin
// and the admin API, read by the relay's delivery to sign. A private key is stored as PKCS#8
// PEM, sealed with the queue's seal key when the caller has seal keys (bound to
// "domain/selector", seal.hpp's seal_field), so a database dump holds no usable key.
//
//   DkimKey made = add_dkim_key(db, "example.com", "mail", dkim::Algorithm::Ed25519, keys, "alice");
//   std::cout << dkim_dns_record(made);
#pragma once

#include "postern/schema/seal.hpp"

#include <pqxx/connection_base>

#include <string>
#include <vector>

namespace postern::schema {

struct DkimKey {
  std::string domain;
  std::string selector;
  std::string algorithm;   // "rsa2048" or "ed25519"
  std::string public_key;  // as the DNS record's p= holds it
  std::string created_at;  // ISO 8601, UTC
};

// A key ready for signing: its private key as PEM, opened.
struct DkimSigningKey {
  std::string domain;
  std::string selector;
  std::string algorithm;
  std::string private_pem;
};

// Makes a key pair for `domain` (lowercased; InvalidInput when not a domain name) under
// `selector` (InvalidInput when not 1-63 letters, digits, '.', '_', '-'), stores it (sealed when
// `keys` is not empty), audited as "dkim add". AlreadyExists when that selector exists.
DkimKey add_dkim_key(pqxx::connection_base& db, const std::string& domain, const std::string& selector,
                     const std::string& algorithm, const SealKeys& keys, const std::string& actor);

// Every key, by domain and selector; or one domain's (NotFound when it has none).
std::vector<DkimKey> dkim_keys(pqxx::connection_base& db);
std::vector<DkimKey> dkim_keys_of(pqxx::connection_base& db, const std::string& domain);

// Deletes one key, audited as "dkim del"; NotFound when it does not exist.
void delete_dkim_key(pqxx::connection_base& db, const std::string& domain, const std::string& selector,
                     const std::string& actor);

// The DNS TXT record to publish for a key.
std::string dkim_dns_record(const DkimKey& key);

// Every key with its private key opened with `keys` (the relay's). A key that does not open
// (sealed under a key this process lacks, or broken) is left out and named in `unusable`.
std::vector<DkimSigningKey> dkim_signing_keys(pqxx::connection_base& db, const SealKeys& keys,
                                              std::vector<std::string>& unusable);

// The LISTEN/NOTIFY channel of a change to the keys (migration 0014's trigger).
inline constexpr const char* kDkimKeyChannel = "postern_dkim_keys";

// The "message id" a private key is sealed under, and the field name.
std::string dkim_seal_binding(const std::string& domain, const std::string& selector);
inline constexpr const char* kDkimPrivateKeyField = "dkim_private_key";

}  // namespace postern::schema
