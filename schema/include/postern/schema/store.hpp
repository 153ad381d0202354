// The PostgreSQL store of users, addresses, domains, grants and the audit log: the one place
// that speaks SQL about them, through prepared statements only. One Store owns one connection;
// the server keeps a pool of them on its blocking threads, mailadmin uses one.
//
// Names passed in are already normalised (normalize_user_name, parse_address, normalize_domain);
// every change takes the acting operator's name and is audited in the same transaction.
// Failures: NotFound, AlreadyExists, DatabaseUnavailable (errors.hpp).
#pragma once

#include "postern/schema/sender_rule.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

struct UserSummary {
  std::string name;
  bool enabled;
};

struct UserDetails {
  std::string name;
  bool enabled;
  bool legacy_password;       // still the Secure Emailing MD5: replaced at next login
  std::string created_at;     // UTC, "YYYY-MM-DD HH:MM:SS"
  std::string last_login_at;  // empty when never
  std::vector<std::string> addresses;
  std::vector<std::string> domains;
};

// What the credential check needs: one row, one round trip.
struct Credentials {
  std::int64_t user_id;
  std::string password_hash;
  bool enabled;
};

struct AuditEntry {
  std::string at;
  std::string actor;
  std::string action;
  std::string subject;
  std::string detail;
};

// The connection string with libpq's connect_timeout (5 s) and TCP keepalives (idle 30 s, then
// every 10 s, 3 probes) added where it does not set them itself, so that a PostgreSQL that
// vanished (a dead node, a dropped route) is noticed by the kernel instead of hanging a query
// for the default two hours. Works on both forms: "postgresql://..." URIs and "key=value" lists.
std::string with_connection_defaults(const std::string& database_url);

class Store {
 public:
  // Connects and prepares every statement. Throws DatabaseUnavailable.
  explicit Store(const std::string& database_url);
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  // The connection, for migrations and for the queue (its own statements).
  pqxx::connection_base& connection();
  // False once the connection broke; a pool drops such a Store and makes a new one.
  bool is_open() const;

  // Users.
  void add_user(const std::string& name, const std::string& password_hash, const std::string& actor);
  void set_password(const std::string& name, const std::string& password_hash, const std::string& actor);
  void set_enabled(const std::string& name, bool enabled, const std::string& actor);
  void delete_user(const std::string& name, const std::string& actor);
  std::vector<UserSummary> list_users();
  std::optional<UserDetails> find_user(const std::string& name);

  // Addresses and domains.
  void add_address(const std::string& address, const std::string& actor);
  void delete_address(const std::string& address, const std::string& actor);
  std::vector<std::string> list_addresses();
  // Users granted this address; nullopt when the address does not exist.
  std::optional<std::vector<std::string>> users_of_address(const std::string& address);

  void add_domain(const std::string& domain, const std::string& actor);
  void delete_domain(const std::string& domain, const std::string& actor);
  std::vector<std::string> list_domains();
  std::optional<std::vector<std::string>> users_of_domain(const std::string& domain);

  // Grants. Missing user, address or domain → NotFound naming which one.
  void grant_address(const std::string& address, const std::string& user, const std::string& actor);
  void grant_domain(const std::string& domain, const std::string& user, const std::string& actor);
  void revoke_address(const std::string& address, const std::string& user, const std::string& actor);
  void revoke_domain(const std::string& domain, const std::string& user, const std::string& actor);

  // The sender rule's input. nullopt when the user does not exist or is disabled (a session
  // that logged in before `mailadmin disable` may send nothing more).
  std::optional<UserGrants> grants_of(const std::string& user);

  // Authentication.
  std::optional<Credentials> credentials(const std::string& user);
  // Replaces the hash only if it is still `old_hash` (another replica may have upgraded it).
  void upgrade_password_hash(std::int64_t user_id, const std::string& old_hash,
                             const std::string& new_hash);
  void record_login(std::int64_t user_id);

  // Audit log, oldest first; `since` is any PostgreSQL timestamp text, empty for all.
  std::vector<AuditEntry> audit(const std::string& since);

 private:
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

}  // namespace postern::schema
