// PostgreSQL store of users, addresses, domains, grants and audit. See store.hpp.
#include "postern/schema/store.hpp"

#include "guarded.hpp"
#include "audit.hpp"
#include "statements.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/password.hpp"

#include <pqxx/pqxx>

#include <utility>

namespace postern::schema {
namespace {

constexpr Statement kStatements[] = {
    {"user_add", "INSERT INTO emailing_users (name, password_hash) VALUES ($1, $2)"},
    {"user_set_password",
     "UPDATE emailing_users SET password_hash = $2, updated_at = now() WHERE name = $1"},
    {"user_set_enabled",
     "UPDATE emailing_users SET enabled = $2, updated_at = now() WHERE name = $1"},
    {"user_delete", "DELETE FROM emailing_users WHERE name = $1"},
    {"user_list", "SELECT name, enabled FROM emailing_users ORDER BY name"},
    {"user_find",
     "SELECT id, name, enabled, password_hash, " POSTERN_TS("created_at") ", "
     "COALESCE(" POSTERN_TS("last_login_at") ", '') FROM emailing_users WHERE name = $1"},
    {"user_id", "SELECT id FROM emailing_users WHERE name = $1"},
    {"user_addresses",
     "SELECT a.address FROM emailing_users_addresses ua "
     "JOIN emailing_addresses a ON a.id = ua.id_address WHERE ua.id_user = $1 ORDER BY a.address"},
    {"user_domains",
     "SELECT d.domain FROM emailing_users_domains ud "
     "JOIN emailing_domains d ON d.id = ud.id_domain WHERE ud.id_user = $1 ORDER BY d.domain"},
    {"grants_of",
     "SELECT 'a', a.address FROM emailing_users u "
     "JOIN emailing_users_addresses ua ON ua.id_user = u.id "
     "JOIN emailing_addresses a ON a.id = ua.id_address WHERE u.name = $1 "
     "UNION ALL SELECT 'd', d.domain FROM emailing_users u "
     "JOIN emailing_users_domains ud ON ud.id_user = u.id "
     "JOIN emailing_domains d ON d.id = ud.id_domain WHERE u.name = $1 "
     "UNION ALL SELECT 'u', '' FROM emailing_users WHERE name = $1 AND enabled"},
    {"credentials", "SELECT id, password_hash, enabled FROM emailing_users WHERE name = $1"},
    {"upgrade_hash",
     "UPDATE emailing_users SET password_hash = $3, updated_at = now() "
     "WHERE id = $1 AND password_hash = $2"},
    {"record_login", "UPDATE emailing_users SET last_login_at = now() WHERE id = $1"},

    {"address_add", "INSERT INTO emailing_addresses (address) VALUES ($1)"},
    {"address_delete", "DELETE FROM emailing_addresses WHERE lower(address) = lower($1)"},
    {"address_list", "SELECT address FROM emailing_addresses ORDER BY address"},
    {"address_id", "SELECT id FROM emailing_addresses WHERE lower(address) = lower($1)"},
    {"address_users",
     "SELECT u.name FROM emailing_users_addresses ua JOIN emailing_users u ON u.id = ua.id_user "
     "WHERE ua.id_address = $1 ORDER BY u.name"},

    {"domain_add", "INSERT INTO emailing_domains (domain) VALUES ($1)"},
    {"domain_delete", "DELETE FROM emailing_domains WHERE domain = $1"},
    {"domain_list", "SELECT domain FROM emailing_domains ORDER BY domain"},
    {"domain_id", "SELECT id FROM emailing_domains WHERE domain = $1"},
    {"domain_users",
     "SELECT u.name FROM emailing_users_domains ud JOIN emailing_users u ON u.id = ud.id_user "
     "WHERE ud.id_domain = $1 ORDER BY u.name"},

    {"grant_address",
     "INSERT INTO emailing_users_addresses (id_user, id_address) VALUES ($1, $2) "
     "ON CONFLICT DO NOTHING"},
    {"grant_domain",
     "INSERT INTO emailing_users_domains (id_user, id_domain) VALUES ($1, $2) "
     "ON CONFLICT DO NOTHING"},
    {"revoke_address",
     "DELETE FROM emailing_users_addresses WHERE id_user = $1 AND id_address = $2"},
    {"revoke_domain", "DELETE FROM emailing_users_domains WHERE id_user = $1 AND id_domain = $2"},

    {"audit_list",
     "SELECT " POSTERN_TS("at") ", actor, action, subject, detail FROM postern_audit "
     "WHERE $1 = '' OR at >= $1::timestamptz ORDER BY id"},
};


std::vector<std::string> column(const pqxx::result& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(row[0].as<std::string>());
  return out;
}

std::int64_t id_or_throw(pqxx::work& tx, const char* statement, const std::string& key,
                         const std::string& what) {
  auto rows = tx.exec_prepared(statement, key);
  if (rows.empty()) throw NotFound(what + " " + key + " does not exist");
  return rows[0][0].as<std::int64_t>();
}

void expect_changed(const pqxx::result& result, const std::string& message) {
  if (result.affected_rows() == 0) throw NotFound(message);
}

}  // namespace

std::string with_connection_defaults(const std::string& database_url) {
  static constexpr std::pair<const char*, const char*> kDefaults[] = {
      {"connect_timeout", "5"},   {"keepalives", "1"},         {"keepalives_idle", "30"},
      {"keepalives_interval", "10"}, {"keepalives_count", "3"}};
  const bool uri = database_url.starts_with("postgresql://") || database_url.starts_with("postgres://");
  std::string out = database_url;
  for (const auto& [key, value] : kDefaults) {
    if (database_url.find(std::string(key) + "=") != std::string::npos) continue;  // set by the operator
    if (uri) out += (out.find('?') == std::string::npos ? "?" : "&");
    else if (!out.empty()) out += ' ';
    out += std::string(key) + "=" + value;
  }
  return out;
}

struct Store::Connection {
  explicit Connection(const std::string& url) : db{with_connection_defaults(url)} {}
  pqxx::connection db;
};

Store::Store(const std::string& database_url) {
  guarded([&] {
    connection_ = std::make_unique<Connection>(database_url);
    prepare_all(connection_->db, kStatements);
  });
}

Store::~Store() = default;
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;

pqxx::connection_base& Store::connection() { return connection_->db; }
bool Store::is_open() const { return connection_ && connection_->db.is_open(); }

void Store::add_user(const std::string& name, const std::string& password_hash,
                     const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    try {
      tx.exec_prepared("user_add", name, password_hash);
    } catch (const pqxx::unique_violation&) {
      throw AlreadyExists("user " + name + " already exists");
    }
    record_audit(tx, actor, "add user", name);
    tx.commit();
  });
}

void Store::set_password(const std::string& name, const std::string& password_hash,
                         const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    expect_changed(tx.exec_prepared("user_set_password", name, password_hash),
                   "user " + name + " does not exist");
    record_audit(tx, actor, "passwd", name);
    tx.commit();
  });
}

void Store::set_enabled(const std::string& name, bool enabled, const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    expect_changed(tx.exec_prepared("user_set_enabled", name, enabled),
                   "user " + name + " does not exist");
    record_audit(tx, actor, enabled ? "enable user" : "disable user", name);
    tx.commit();
  });
}

void Store::delete_user(const std::string& name, const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    expect_changed(tx.exec_prepared("user_delete", name), "user " + name + " does not exist");
    record_audit(tx, actor, "del user", name);
    tx.commit();
  });
}

std::vector<UserSummary> Store::list_users() {
  return guarded([&] {
    pqxx::read_transaction tx{connection_->db};
    std::vector<UserSummary> users;
    for (const auto& row : tx.exec_prepared("user_list")) {
      users.push_back({row[0].as<std::string>(), row[1].as<bool>()});
    }
    return users;
  });
}

std::optional<UserDetails> Store::find_user(const std::string& name) {
  return guarded([&]() -> std::optional<UserDetails> {
    pqxx::read_transaction tx{connection_->db};
    auto rows = tx.exec_prepared("user_find", name);
    if (rows.empty()) return std::nullopt;
    const auto& row = rows[0];
    auto id = row[0].as<std::int64_t>();
    UserDetails user{row[1].as<std::string>(),
                     row[2].as<bool>(),
                     is_legacy_hash(row[3].as<std::string>()),
                     row[4].as<std::string>(),
                     row[5].as<std::string>(),
                     column(tx.exec_prepared("user_addresses", id)),
                     column(tx.exec_prepared("user_domains", id))};
    return user;
  });
}

void Store::add_address(const std::string& address, const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    try {
      tx.exec_prepared("address_add", address);
    } catch (const pqxx::unique_violation&) {
      throw AlreadyExists("address " + address + " already exists");
    }
    record_audit(tx, actor, "add address", address);
    tx.commit();
  });
}

void Store::delete_address(const std::string& address, const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    expect_changed(tx.exec_prepared("address_delete", address),
                   "address " + address + " does not exist");
    record_audit(tx, actor, "del address", address);
    tx.commit();
  });
}

std::vector<std::string> Store::list_addresses() {
  return guarded([&] {
    pqxx::read_transaction tx{connection_->db};
    return column(tx.exec_prepared("address_list"));
  });
}

std::optional<std::vector<std::string>> Store::users_of_address(const std::string& address) {
  return guarded([&]() -> std::optional<std::vector<std::string>> {
    pqxx::read_transaction tx{connection_->db};
    auto ids = tx.exec_prepared("address_id", address);
    if (ids.empty()) return std::nullopt;
    return column(tx.exec_prepared("address_users", ids[0][0].as<std::int64_t>()));
  });
}

void Store::add_domain(const std::string& domain, const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    try {
      tx.exec_prepared("domain_add", domain);
    } catch (const pqxx::unique_violation&) {
      throw AlreadyExists("domain " + domain + " already exists");
    }
    record_audit(tx, actor, "add domain", domain);
    tx.commit();
  });
}

void Store::delete_domain(const std::string& domain, const std::string& actor) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    expect_changed(tx.exec_prepared("domain_delete", domain),
                   "domain " + domain + " does not exist");
    record_audit(tx, actor, "del domain", domain);
    tx.commit();
  });
}

std::vector<std::string> Store::list_domains() {
  return guarded([&] {
    pqxx::read_transaction tx{connection_->db};
    return column(tx.exec_prepared("domain_list"));
  });
}

std::optional<std::vector<std::string>> Store::users_of_domain(const std::string& domain) {
  return guarded([&]() -> std::optional<std::vector<std::string>> {
    pqxx::read_transaction tx{connection_->db};
    auto ids = tx.exec_prepared("domain_id", domain);
    if (ids.empty()) return std::nullopt;
    return column(tx.exec_prepared("domain_users", ids[0][0].as<std::int64_t>()));
  });
}

namespace {

// One grant or revoke: look both ends up (naming the missing one), then change the link.
void change_grant(pqxx::connection_base& db, const char* target_id_statement, const char* target_kind,
                  const std::string& target, const std::string& user, const char* change_statement,
                  bool granting, const std::string& actor) {
  pqxx::work tx{db};
  auto user_id = id_or_throw(tx, "user_id", user, "user");
  auto target_id = id_or_throw(tx, target_id_statement, target, target_kind);
  auto result = tx.exec_prepared(change_statement, user_id, target_id);
  const std::string kind = target_kind;
  if (result.affected_rows() == 0) {
    if (granting) throw AlreadyExists("user " + user + " is already granted " + kind + " " + target);
    throw NotFound("user " + user + " is not granted " + kind + " " + target);
  }
  record_audit(tx, actor, std::string(granting ? "grant " : "revoke ") + kind, target,
        std::string(granting ? "to " : "from ") + user);
  tx.commit();
}

}  // namespace

void Store::grant_address(const std::string& address, const std::string& user,
                          const std::string& actor) {
  guarded([&] { change_grant(connection_->db, "address_id", "address", address, user, "grant_address", true, actor); });
}

void Store::grant_domain(const std::string& domain, const std::string& user,
                         const std::string& actor) {
  guarded([&] { change_grant(connection_->db, "domain_id", "domain", domain, user, "grant_domain", true, actor); });
}

void Store::revoke_address(const std::string& address, const std::string& user,
                           const std::string& actor) {
  guarded([&] { change_grant(connection_->db, "address_id", "address", address, user, "revoke_address", false, actor); });
}

void Store::revoke_domain(const std::string& domain, const std::string& user,
                          const std::string& actor) {
  guarded([&] { change_grant(connection_->db, "domain_id", "domain", domain, user, "revoke_domain", false, actor); });
}

std::optional<UserGrants> Store::grants_of(const std::string& user) {
  return guarded([&]() -> std::optional<UserGrants> {
    pqxx::read_transaction tx{connection_->db};
    UserGrants grants;
    bool exists = false;
    for (const auto& row : tx.exec_prepared("grants_of", user)) {
      auto kind = row[0].as<std::string>();
      if (kind == "a") grants.addresses.push_back(row[1].as<std::string>());
      else if (kind == "d") grants.domains.push_back(row[1].as<std::string>());
      else exists = true;
    }
    if (!exists) return std::nullopt;
    return grants;
  });
}

std::optional<Credentials> Store::credentials(const std::string& user) {
  return guarded([&]() -> std::optional<Credentials> {
    pqxx::read_transaction tx{connection_->db};
    auto rows = tx.exec_prepared("credentials", user);
    if (rows.empty()) return std::nullopt;
    return Credentials{rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>(),
                       rows[0][2].as<bool>()};
  });
}

void Store::upgrade_password_hash(std::int64_t user_id, const std::string& old_hash,
                                  const std::string& new_hash) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    tx.exec_prepared("upgrade_hash", user_id, old_hash, new_hash);
    tx.commit();
  });
}

void Store::record_login(std::int64_t user_id) {
  guarded([&] {
    pqxx::work tx{connection_->db};
    // Bookkeeping: a login time lost in a database crash is no harm, so no wait for its fsync.
    tx.exec0("SET LOCAL synchronous_commit = off");
    tx.exec_prepared("record_login", user_id);
    tx.commit();
  });
}

std::vector<AuditEntry> Store::audit(const std::string& since) {
  return guarded([&] {
    pqxx::read_transaction tx{connection_->db};
    std::vector<AuditEntry> entries;
    for (const auto& row : tx.exec_prepared("audit_list", since)) {
      entries.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                         row[2].as<std::string>(), row[3].as<std::string>(),
                         row[4].as<std::string>()});
    }
    return entries;
  });
}

}  // namespace postern::schema
