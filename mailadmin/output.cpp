// Human and JSON renderers. See output.hpp.
#include "output.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>

namespace postern::mailadmin {
namespace {

using nlohmann::json;

void emit(std::ostream& out, const json& document) {
  // Invalid UTF-8 in a legacy row must not abort the listing.
  out << document.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

// Byte order, independent of the database's collation: the same on every server.
std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

void print_list(std::ostream& out, const char* table, const char* key,
                std::vector<std::string> names, Format format) {
  names = sorted(std::move(names));
  if (format == Format::Json) {
    emit(out, json{{key, names}});
    return;
  }
  out << "--- " << table << " ---\n";
  for (const auto& name : names) out << "    - " << name << '\n';
}

void print_bullets(std::ostream& out, const char* heading, const std::vector<std::string>& items) {
  out << "  " << heading << ":\n";
  for (const auto& item : items) out << "    * " << item << '\n';
}

void print_grantees(std::ostream& out, const char* key, const std::string& name,
                    std::vector<std::string> users, Format format) {
  users = sorted(std::move(users));
  if (format == Format::Json) {
    emit(out, json{{key, {{key, name}, {"users", users}}}});
    return;
  }
  out << "--- Show " << name << " ---\n";
  print_bullets(out, "Users", users);
}

json null_if_empty(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

const char* state_name(schema::MigrationState state) {
  switch (state) {
    case schema::MigrationState::Applied: return "applied";
    case schema::MigrationState::Pending: return "pending";
    case schema::MigrationState::Changed: return "changed";
    case schema::MigrationState::Unknown: return "unknown";
  }
  return "unknown";
}

std::string migration_name(int version) {
  for (const auto& file : schema::embedded_migrations()) {
    if (file.version == version) return file.name;
  }
  return "";
}

std::string four_digits(int version) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d", version);
  return buffer;
}

}  // namespace

void print_users(std::ostream& out, std::vector<schema::UserSummary> users, Format format) {
  std::sort(users.begin(), users.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  if (format == Format::Json) {
    json list = json::array();
    for (const auto& user : users) list.push_back({{"name", user.name}, {"enabled", user.enabled}});
    emit(out, json{{"users", list}});
    return;
  }
  out << "--- emailing_users ---\n";
  for (const auto& user : users) {
    out << "    - " << user.name << (user.enabled ? "" : " (disabled)") << '\n';
  }
}

void print_addresses(std::ostream& out, std::vector<std::string> addresses, Format format) {
  print_list(out, "emailing_addresses", "addresses", std::move(addresses), format);
}

void print_domains(std::ostream& out, std::vector<std::string> domains, Format format) {
  print_list(out, "emailing_domains", "domains", std::move(domains), format);
}

void print_user(std::ostream& out, const schema::UserDetails& user, Format format) {
  const auto addresses = sorted(user.addresses);
  const auto domains = sorted(user.domains);
  if (format == Format::Json) {
    emit(out, json{{"user",
                    {{"name", user.name},
                     {"enabled", user.enabled},
                     {"legacy_password", user.legacy_password},
                     {"password_scheme", user.legacy_password ? "legacy-md5" : "argon2id"},
                     {"created_at", null_if_empty(user.created_at)},
                     {"last_login_at", null_if_empty(user.last_login_at)},
                     {"addresses", addresses},
                     {"domains", domains}}}});
    return;
  }
  out << "--- Show " << user.name << " ---\n";
  out << "  Status: " << (user.enabled ? "enabled" : "disabled") << '\n';
  out << "  Password: " << (user.legacy_password ? "legacy MD5 (replaced at next login)" : "argon2id")
      << '\n';
  out << "  Last login: " << (user.last_login_at.empty() ? "never" : user.last_login_at) << '\n';
  print_bullets(out, "Domains", domains);
  print_bullets(out, "Addresses", addresses);
}

void print_address_users(std::ostream& out, const std::string& address,
                         std::vector<std::string> users, Format format) {
  print_grantees(out, "address", address, std::move(users), format);
}

void print_domain_users(std::ostream& out, const std::string& domain,
                        std::vector<std::string> users, Format format) {
  print_grantees(out, "domain", domain, std::move(users), format);
}

void print_check(std::ostream& out, const CheckResult& result, Format format) {
  const auto& decision = result.decision;
  const char* via = decision.via == schema::GrantKind::Address  ? "address"
                    : decision.via == schema::GrantKind::Domain ? "domain"
                                                                : nullptr;
  if (format == Format::Json) {
    emit(out, json{{"user", result.user},
                   {"address", result.address},
                   {"allowed", result.allowed()},
                   {"enabled", result.enabled},
                   {"via", via ? json(via) : json(nullptr)},
                   {"grant", decision.allowed ? json(decision.grant) : json(nullptr)}});
    return;
  }
  out << result.user << (result.allowed() ? " may send as " : " may not send as ")
      << result.address;
  if (!result.enabled) {
    out << " (user is disabled";
    if (via) out << "; " << via << " grant " << decision.grant;
    out << ")";
  } else if (via) {
    out << " (" << via << " grant " << decision.grant << ")";
  }
  out << '\n';
}

void print_audit(std::ostream& out, const std::vector<schema::AuditEntry>& entries,
                 Format format) {
  if (format == Format::Json) {
    json list = json::array();
    for (const auto& e : entries) {
      list.push_back({{"at", e.at},
                      {"actor", e.actor},
                      {"action", e.action},
                      {"subject", e.subject},
                      {"detail", e.detail}});
    }
    emit(out, json{{"audit", list}});
    return;
  }
  // "2026-05-01 10:00:00  root  grant address user@x.com to test1"
  for (const auto& e : entries) {
    out << e.at << "  " << e.actor << "  " << e.action << ' ' << e.subject;
    if (!e.detail.empty()) out << ' ' << e.detail;
    out << '\n';
  }
}

void print_migration_status(std::ostream& out, const schema::MigrationPlan& plan, Format format) {
  if (format == Format::Json) {
    json list = json::array();
    for (const auto& s : plan.status) {
      list.push_back({{"version", s.version},
                      {"name", s.name},
                      {"state", state_name(s.state)},
                      {"applied_at", null_if_empty(s.applied_at)}});
    }
    emit(out, json{{"migrations", list}});
    return;
  }
  std::size_t width = 0;
  for (const auto& s : plan.status) width = std::max(width, s.name.size());
  for (const auto& s : plan.status) {
    out << four_digits(s.version) << ' ' << s.name << std::string(width - s.name.size() + 2, ' ');
    switch (s.state) {
      case schema::MigrationState::Applied: out << "applied " << s.applied_at; break;
      case schema::MigrationState::Pending: out << "pending"; break;
      case schema::MigrationState::Changed: out << "CHANGED (applied " << s.applied_at << ")"; break;
      case schema::MigrationState::Unknown: out << "unknown (newer)"; break;
    }
    out << '\n';
  }
}

void print_migrated(std::ostream& out, const std::vector<int>& versions, Format format) {
  if (format == Format::Json) {
    json list = json::array();
    for (int v : versions) list.push_back({{"version", v}, {"name", migration_name(v)}});
    emit(out, json{{"applied", list}});
    return;
  }
  if (versions.empty()) {
    out << "database is up to date\n";
    return;
  }
  for (int v : versions) out << "applied migration " << v << " (" << migration_name(v) << ")\n";
}

}  // namespace postern::mailadmin
