// See dkim_keys.hpp.
#include "postern/schema/dkim_keys.hpp"

#include "audit.hpp"
#include "guarded.hpp"
#include "dkim/crypto.hpp"
#include "dkim/signature.hpp"
#include "postern/schema/errors.hpp"

#include <pqxx/pqxx>

#include <cctype>

namespace postern::schema {
namespace {

constexpr const char* kInsert = R"sql(
INSERT INTO postern_dkim_keys (domain, selector, algorithm, private_key, seal_key, public_key)
VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6)
ON CONFLICT (domain, selector) DO NOTHING
RETURNING to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
)sql";

constexpr const char* kList = R"sql(
SELECT domain, selector, algorithm, public_key,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM postern_dkim_keys
 WHERE $1 = '' OR domain = $1
 ORDER BY domain, selector
)sql";

constexpr const char* kDelete = "DELETE FROM postern_dkim_keys WHERE domain = $1 AND selector = $2 RETURNING algorithm";

constexpr const char* kSigningKeys =
    "SELECT domain, selector, algorithm, private_key, COALESCE(seal_key, '') FROM postern_dkim_keys "
    "ORDER BY domain, selector";

void prepare(pqxx::connection_base& db) {
  db.prepare("dkim_insert", kInsert);
  db.prepare("dkim_list", kList);
  db.prepare("dkim_delete", kDelete);
  db.prepare("dkim_signing_keys", kSigningKeys);
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A DNS name of letters, digits, '-' and '.' (the key's d=); lowercased.
std::string dkim_domain(const std::string& text) {
  std::string domain = lowercase(text);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  const bool valid = !domain.empty() && domain.size() <= 253 && domain.front() != '.' && domain.front() != '-' &&
                     domain.find("..") == std::string::npos &&
                     domain.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") == std::string::npos;
  if (!valid) throw InvalidInput("\"" + text + "\" is not a domain name");
  return domain;
}

std::string dkim_selector(const std::string& text) {
  const bool valid = !text.empty() && text.size() <= 63 && std::isalnum(static_cast<unsigned char>(text.front())) &&
                     text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
                         std::string::npos;
  if (!valid) throw InvalidInput("\"" + text + "\" is not a selector (1 to 63 letters, digits, '.', '_', '-')");
  return text;
}

std::vector<DkimKey> list(pqxx::connection_base& db, const std::string& domain) {
  prepare(db);
  return guarded([&] {
    pqxx::read_transaction tx{db};
    std::vector<DkimKey> keys;
    for (const auto& row : tx.exec_prepared("dkim_list", domain)) {
      keys.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                      row[3].as<std::string>(), row[4].as<std::string>()});
    }
    return keys;
  });
}

}  // namespace

std::string dkim_seal_binding(const std::string& domain, const std::string& selector) {
  return domain + "/" + selector;
}

DkimKey add_dkim_key(pqxx::connection_base& db, const std::string& domain, const std::string& selector,
                     const std::string& algorithm, const SealKeys& keys, const std::string& actor) {
  DkimKey key{dkim_domain(domain), dkim_selector(selector), algorithm, {}, {}};
  dkim::Algorithm chosen{};
  try {
    chosen = dkim::algorithm_from_name(algorithm);
  } catch (const std::invalid_argument& e) {
    throw InvalidInput(e.what());
  }
  dkim::GeneratedKey made = dkim::generate_key(chosen);
  key.public_key = made.public_key;
  std::string stored = std::move(made.private_pem);
  std::string seal_key;
  if (!keys.empty()) {
    stored = seal_field(keys.sealing(), dkim_seal_binding(key.domain, key.selector), kDkimPrivateKeyField, stored);
    seal_key = keys.sealing().id;
  }
  prepare(db);
  guarded([&] {
    pqxx::work tx{db};
    const auto rows = tx.exec_prepared("dkim_insert", key.domain, key.selector, key.algorithm,
                                       pqxx::binarystring(stored.data(), stored.size()), seal_key, key.public_key);
    if (rows.empty()) {
      throw AlreadyExists("DKIM key " + key.selector + " of " + key.domain + " already exists");
    }
    key.created_at = rows[0][0].as<std::string>();
    record_audit(tx, actor, "dkim add", key.domain, "selector " + key.selector + ", " + key.algorithm +
                                                        (seal_key.empty() ? "" : ", sealed under " + seal_key));
    tx.commit();
  });
  return key;
}

std::vector<DkimKey> dkim_keys(pqxx::connection_base& db) { return list(db, ""); }

std::vector<DkimKey> dkim_keys_of(pqxx::connection_base& db, const std::string& domain) {
  const std::string name = lowercase(domain);
  std::vector<DkimKey> keys = list(db, name);
  if (keys.empty()) throw NotFound("domain " + name + " has no DKIM key");
  return keys;
}

void delete_dkim_key(pqxx::connection_base& db, const std::string& domain, const std::string& selector,
                     const std::string& actor) {
  const std::string name = lowercase(domain);
  prepare(db);
  guarded([&] {
    pqxx::work tx{db};
    const auto rows = tx.exec_prepared("dkim_delete", name, selector);
    if (rows.empty()) throw NotFound("DKIM key " + selector + " of " + name + " does not exist");
    record_audit(tx, actor, "dkim del", name, "selector " + selector + ", " + rows[0][0].as<std::string>());
    tx.commit();
  });
}

std::string dkim_dns_record(const DkimKey& key) {
  return dkim::dns_txt_record(key.domain, key.selector, dkim::algorithm_from_name(key.algorithm), key.public_key);
}

std::vector<DkimSigningKey> dkim_signing_keys(pqxx::connection_base& db, const SealKeys& keys,
                                              std::vector<std::string>& unusable) {
  prepare(db);
  return guarded([&] {
    pqxx::read_transaction tx{db};
    std::vector<DkimSigningKey> found;
    for (const auto& row : tx.exec_prepared("dkim_signing_keys")) {
      DkimSigningKey key{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                         pqxx::binarystring(row[3]).str()};
      if (!row[4].as<std::string>().empty()) {
        try {
          key.private_pem = open_field(keys, dkim_seal_binding(key.domain, key.selector), kDkimPrivateKeyField,
                                       key.private_pem);
        } catch (const std::exception& e) {
          unusable.push_back(key.selector + "._domainkey." + key.domain + ": " + e.what());
          continue;
        }
      }
      found.push_back(std::move(key));
    }
    return found;
  });
}

}  // namespace postern::schema
