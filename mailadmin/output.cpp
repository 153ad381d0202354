// Human and JSON renderers. See output.hpp.
#include "output.hpp"

#include "postern/schema/printable.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>

namespace postern::mailadmin {
namespace {

using nlohmann::json;

// JSON escapes C0 controls but writes C1 controls (U+0080-U+009F), line separators and
// bidirectional overrides as raw UTF-8, which a terminal showing the output obeys (U+009B is
// CSI). They can only occur inside strings (invalid UTF-8 is already replaced), so each becomes
// its \u escape: the same JSON value, the same set schema/printable.hpp escapes.
std::string escape_unprintable_in_json(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t n = byte < 0x80 ? 1 : schema::printable_length(text, i);
    if (n > 0) {
      out.append(text, i, n);
      i += n;
      continue;
    }
    // A valid two- or three-byte character that must not be shown raw.
    const std::size_t size = byte < 0xe0 ? 2 : 3;
    char32_t cp = byte & (size == 2 ? 0x1f : 0x0f);
    for (std::size_t k = 1; k < size && i + k < text.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    }
    char escape[8];
    std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(cp));
    out += escape;
    i += size;
  }
  return out;
}

void emit(std::ostream& out, const json& document) {
  // Invalid UTF-8 in a legacy row must not abort the listing: it becomes U+FFFD.
  out << escape_unprintable_in_json(document.dump(2, ' ', false, json::error_handler_t::replace)) << '\n';
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
    case schema::MigrationState::PendingContract: return "pending_contract";
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

// Text from the queue (senders, upstream replies, a client's headers) made safe for a
// terminal: C0 and C1 controls other than tab, bytes that are not UTF-8, line separators and
// bidirectional overrides become \xNN (schema/printable.hpp), so no escape sequence reaches the
// screen.
std::string printable(const std::string& text) { return schema::escape_unprintable(text, "\t"); }

// One line: a multi-line reply's lines joined by spaces, then made printable.
std::string printable_line(const std::string& text) {
  std::string joined;
  bool pending_space = false;
  for (char c : text) {
    if (c == '\r' || c == '\n') {
      pending_space = !joined.empty();
      continue;
    }
    if (pending_space) joined.push_back(' ');
    pending_space = false;
    joined.push_back(c);
  }
  return printable(joined);
}

// Columns on a terminal, roughly: UTF-8 code points.
std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

std::string pad(const std::string& text, std::size_t width) {
  const std::size_t w = display_width(text);
  return w >= width ? text : text + std::string(width - w, ' ');
}

std::string two_digits(long long n) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "%02lld", n);
  return buffer;
}

std::string plural(long long n, const char* one, const char* many) {
  return std::to_string(n) + ' ' + (n == 1 ? one : many);
}

std::string envelope_sender(const std::string& sender) {
  return sender.empty() ? "<>" : printable_line(sender);
}

// When the next attempt is: "in 4m10s", "due now", "overdue 5m02s" (no worker has taken it:
// are the relays running?).
std::string when_due(long long in_seconds) {
  if (in_seconds > 0) return "in " + short_duration(in_seconds);
  if (in_seconds > -60) return "due now";
  return "overdue " + short_duration(-in_seconds);
}

std::string queue_state(const schema::QueueEntry& e) {
  if (e.held && e.leased) return "held, delivering";
  if (e.held) return "held";
  if (e.leased) return "delivering";
  const long long in = e.next_attempt_in_seconds;
  return in > 0 ? "next " + when_due(in) : when_due(in);
}

}  // namespace

std::string short_duration(long long seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return std::to_string(seconds) + "s";
  if (seconds < 3600) return std::to_string(seconds / 60) + "m" + two_digits(seconds % 60) + "s";
  if (seconds < 86400) {
    return std::to_string(seconds / 3600) + "h" + two_digits(seconds % 3600 / 60) + "m";
  }
  return std::to_string(seconds / 86400) + "d" + two_digits(seconds % 86400 / 3600) + "h";
}

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

namespace {

// A user's four limits in the order they are shown, with their JSON keys.
struct NamedLimit {
  const char* key;
  const char* name;
  const schema::LimitSetting& setting;
};

std::vector<NamedLimit> named_limits(const schema::LimitOverrides& limits) {
  return {{"messages_per_hour", "messages per hour", limits.messages_per_hour},
          {"messages_per_day", "messages per day", limits.messages_per_day},
          {"recipients_per_hour", "recipients per hour", limits.recipients_per_hour},
          {"recipients_per_day", "recipients per day", limits.recipients_per_day}};
}

void print_limits(std::ostream& out, const schema::LimitOverrides& limits) {
  std::vector<std::string> lines;
  for (const auto& limit : named_limits(limits)) {
    std::string value = "default (postern.yaml)";
    if (limit.setting.kind == schema::LimitSetting::Kind::Unlimited) value = "unlimited";
    if (limit.setting.kind == schema::LimitSetting::Kind::AtMost) value = std::to_string(limit.setting.count);
    lines.push_back(std::string(limit.name) + ": " + value);
  }
  print_bullets(out, "Limits", lines);
}

void print_usage(std::ostream& out, const std::vector<schema::WindowUsage>& usage) {
  if (usage.empty()) {
    out << "  Usage: none\n";
    return;
  }
  std::vector<std::string> lines;
  for (const auto& u : usage) {
    lines.push_back(std::to_string(u.window.seconds) + " s window from " + u.started_at + ": " +
                    plural(u.usage.messages, "message", "messages") + ", " +
                    plural(u.usage.recipients, "recipient", "recipients"));
  }
  print_bullets(out, "Usage", lines);
}

}  // namespace

void print_user(std::ostream& out, const schema::UserReport& report, Format format) {
  if (format == Format::Json) {
    emit(out, json{{"user", schema::user_json(report)}});
    return;
  }
  const auto& [user, limits, usage] = report;
  const auto addresses = sorted(user.addresses);
  const auto domains = sorted(user.domains);
  out << "--- Show " << user.name << " ---\n";
  out << "  Status: " << (user.enabled ? "enabled" : "disabled") << '\n';
  out << "  Password: " << (user.legacy_password ? "legacy MD5 (replaced at next login)" : "argon2id")
      << '\n';
  out << "  Last login: " << (user.last_login_at.empty() ? "never" : user.last_login_at) << '\n';
  print_bullets(out, "Domains", domains);
  print_bullets(out, "Addresses", addresses);
  print_limits(out, limits);
  print_usage(out, usage);
}

void print_user_limits(std::ostream& out, const std::string& user, const schema::LimitOverrides& limits,
                       Format format) {
  if (format == Format::Json) {
    emit(out, json{{"user", {{"name", user}, {"limits", schema::limits_json(limits)}}}});
    return;
  }
  out << "--- Show " << user << " ---\n";
  print_limits(out, limits);
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
    emit(out, schema::check_json(result));
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
    emit(out, json{{"audit", schema::audit_json(entries)}});
    return;
  }
  // "2026-05-01 10:00:00  root  grant address user@x.com to test1"
  for (const auto& e : entries) {
    out << e.at << "  " << e.actor << "  " << e.action << ' ' << e.subject;
    if (!e.detail.empty()) out << ' ' << e.detail;
    out << '\n';
  }
}

namespace {

// "ready", or what keeps the relay from connecting and working as that role.
std::string relay_role_state(const schema::RelayRoleStatus& role) {
  if (!role.exists) return "does not exist (mailadmin migrate creates it)";
  if (role.ready()) return "ready";
  std::vector<std::string> problems;
  if (!role.can_login) problems.push_back("cannot log in (NOLOGIN)");
  if (role.superuser) problems.push_back("is a superuser (the relay needs a role of no special rights)");
  if (!role.missing.empty()) {
    std::string lacks = "lacks ";
    for (std::size_t i = 0; i < role.missing.size(); ++i) lacks += (i ? ", " : "") + role.missing[i];
    problems.push_back(lacks + " (mailadmin migrate grants them)");
  }
  std::string text;
  for (std::size_t i = 0; i < problems.size(); ++i) text += (i ? "; " : "") + problems[i];
  return text;
}

}  // namespace

void print_migration_status(std::ostream& out, const schema::MigrationPlan& plan,
                            const schema::RelayRoleStatus& relay_role, Format format) {
  if (format == Format::Json) {
    json list = json::array();
    for (const auto& s : plan.status) {
      list.push_back({{"version", s.version},
                      {"name", s.name},
                      {"state", state_name(s.state)},
                      {"applied_at", null_if_empty(s.applied_at)}});
    }
    emit(out, json{{"migrations", list},
                   {"relay_role", {{"name", relay_role.name},
                                   {"exists", relay_role.exists},
                                   {"login", relay_role.can_login},
                                   {"superuser", relay_role.superuser},
                                   {"missing_grants", relay_role.missing},
                                   {"ready", relay_role.ready()}}}});
    return;
  }
  std::size_t width = 0;
  for (const auto& s : plan.status) width = std::max(width, s.name.size());
  for (const auto& s : plan.status) {
    out << four_digits(s.version) << ' ' << s.name << std::string(width - s.name.size() + 2, ' ');
    switch (s.state) {
      case schema::MigrationState::Applied: out << "applied " << s.applied_at; break;
      case schema::MigrationState::Pending: out << "pending"; break;
      case schema::MigrationState::PendingContract:
        out << "pending contract step (mailadmin migrate --contract, once every replica is upgraded)";
        break;
      case schema::MigrationState::Changed: out << "CHANGED (applied " << s.applied_at << ")"; break;
      case schema::MigrationState::Unknown: out << "unknown (newer)"; break;
    }
    out << '\n';
  }
  out << "relay role " << relay_role.name << ": " << relay_role_state(relay_role) << '\n';
}

void print_migrated(std::ostream& out, const std::vector<int>& versions,
                    const schema::RelayRoleOutcome* relay_role, Format format) {
  if (format == Format::Json) {
    json list = json::array();
    for (int v : versions) list.push_back({{"version", v}, {"name", migration_name(v)}});
    json document{{"applied", list}};
    if (relay_role != nullptr) {
      document["relay_role"] = {{"name", relay_role->name},
                                {"created", relay_role->created},
                                {"password_set", relay_role->password_set}};
    }
    emit(out, document);
    return;
  }
  if (versions.empty()) out << "database is up to date\n";
  for (int v : versions) out << "applied migration " << v << " (" << migration_name(v) << ")\n";
  if (relay_role == nullptr) return;
  if (relay_role->created && relay_role->password_set) {
    out << "created role " << relay_role->name << " (LOGIN) with its password\n";
  } else if (relay_role->created) {
    out << "created role " << relay_role->name
        << " (LOGIN) without a password: it logs in only where pg_hba.conf trusts it; set one with "
           "--relay-password-file\n";
  } else if (relay_role->password_set) {
    out << "set the password of role " << relay_role->name << '\n';
  }
}

void print_dkim_keys(std::ostream& out, const std::vector<schema::DkimKey>& keys, Format format) {
  if (format == Format::Json) {
    json list = json::array();
    for (const auto& k : keys) list.push_back(schema::dkim_key_json(k));
    emit(out, json{{"dkim_keys", list}});
    return;
  }
  out << "--- DKIM keys ---\n";
  for (const auto& k : keys) {
    out << "    - " << k.domain << "  selector " << k.selector << "  " << k.algorithm << "  created " << k.created_at
        << "\n";
  }
}

void print_dkim_records(std::ostream& out, const std::vector<schema::DkimKey>& keys, Format format) {
  if (format == Format::Json) {
    print_dkim_keys(out, keys, format);
    return;
  }
  for (const auto& k : keys) {
    out << "; " << k.domain << " selector " << k.selector << ", " << k.algorithm << ", created " << k.created_at
        << "\n"
        << schema::dkim_dns_record(k) << "\n";
  }
}

void print_webhook_backlog(std::ostream& out, const std::vector<schema::WebhookBacklog>& backlog, Format format) {
  if (format == Format::Json) {
    emit(out, schema::webhook_backlog_json(backlog));
    return;
  }
  out << "--- webhook events waiting ---\n";
  if (backlog.empty()) out << "    (none: every event was acknowledged)\n";
  for (const auto& b : backlog) {
    out << "    - " << b.endpoint << "  " << b.pending << " pending, " << b.failing << " failed at least once, oldest "
        << b.oldest_age_seconds << " s";
    if (!b.last_error.empty()) out << "\n      last error: " << b.last_error;
    out << "\n";
  }
}

void print_queue(std::ostream& out, const std::vector<schema::QueueEntry>& entries,
                 Format format) {
  if (format == Format::Json) {
    json list = json::array();
    for (const auto& e : entries) list.push_back(schema::queue_entry_json(e));
    emit(out, json{{"queue", list}});
    return;
  }
  // Every column but the last is padded to its widest cell, so the columns line up.
  struct Line {
    std::vector<std::string> cells;
    std::string last_error;
  };
  std::vector<Line> lines;
  std::size_t age_width = 0;
  for (const auto& e : entries) age_width = std::max(age_width, short_duration(e.age_seconds).size());
  std::vector<std::size_t> widths(6, 0);
  for (const auto& e : entries) {
    const std::string age = short_duration(e.age_seconds);
    Line line;
    line.cells = {printable_line(e.id),
                  "age " + std::string(age_width - age.size(), ' ') + age,
                  "from " + envelope_sender(e.sender),
                  "to " + plural(static_cast<long long>(e.recipients.size()), "recipient",
                                 "recipients") +
                      " (" + std::to_string(e.recipients_pending) + " pending)",
                  "attempts " + std::to_string(e.attempts),
                  queue_state(e)};
    line.last_error = printable_line(e.last_error);
    for (std::size_t i = 0; i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(line.cells[i]));
    }
    lines.push_back(std::move(line));
  }
  out << "--- postern_queue ---\n";
  for (const auto& line : lines) {
    out << "    - ";
    for (std::size_t i = 0; i < line.cells.size(); ++i) {
      const bool more = i + 1 < line.cells.size() || !line.last_error.empty();
      out << (more ? pad(line.cells[i], widths[i]) + "  " : line.cells[i]);
    }
    if (!line.last_error.empty()) out << "last error: " << line.last_error;
    out << '\n';
  }
}

void print_queued_message(std::ostream& out, const schema::QueuedMessageDetails& m,
                          Format format) {
  const auto& e = m.entry;
  if (format == Format::Json) {
    emit(out, json{{"message", schema::queued_message_json(m)}});
    return;
  }
  out << "--- Show " << printable_line(e.id) << " ---\n";
  out << "  Sender: " << envelope_sender(e.sender) << '\n';
  out << "  Queued: " << e.created_at << " (" << short_duration(e.age_seconds) << " ago) by "
      << (m.auth_user.empty() ? m.intake + " intake" : printable_line(m.auth_user)) << " from "
      << printable_line(m.client_address);
  if (!m.helo.empty()) out << " (HELO " << printable_line(m.helo) << ")";
  out << '\n';
  out << "  Size: " << plural(m.size, "byte", "bytes") << ", " << printable_line(m.body_type)
      << (m.smtputf8 ? ", SMTPUTF8" : "") << '\n';
  if (!m.upstream.empty()) out << "  Upstream: " << printable_line(m.upstream) << " (chosen by a handler)\n";
  if (!m.dsn) out << "  DSN: none (failed recipients stay listed here until deleted or expired)\n";
  if (!m.seal_key.empty()) out << "  Sealed: under key " << printable_line(m.seal_key) << '\n';
  out << "  Attempts: " << e.attempts << '\n';
  out << "  Next attempt: " << e.next_attempt_at << " (" << when_due(e.next_attempt_in_seconds)
      << ")\n";
  out << "  State: ";
  if (e.held) out << "held (queue release " << printable_line(e.id) << " to deliver it)";
  if (e.held && e.leased) out << "; ";
  if (e.leased) {
    out << "being delivered by " << printable_line(m.lease_owner) << " (lease until "
        << m.lease_until << ")";
  }
  if (!e.held && !e.leased) out << "waiting";
  out << '\n';
  out << "  Last error: " << (e.last_error.empty() ? "none" : printable_line(e.last_error)) << '\n';
  out << "  Recipients (" << e.recipients_pending << " pending of " << e.recipients.size()
      << "):\n";
  for (const auto& r : e.recipients) {
    out << "    * " << printable_line(r.address) << "  " << r.status << ", "
        << plural(r.attempts, "attempt", "attempts");
    if (!r.last_reply.empty()) out << ", last reply: " << printable_line(r.last_reply);
    out << '\n';
    for (const auto& d : r.destinations) {
      out << "        " << (d.copy ? "copy " : "share ") << d.index << " of " << r.destinations.size() << " to "
          << printable_line(d.mailbox) << " via " << printable_line(d.upstream) << "  " << d.status << ", "
          << plural(d.attempts, "attempt", "attempts");
      if (!d.last_reply.empty()) out << ", last reply: " << printable_line(d.last_reply);
      out << '\n';
    }
  }
  out << "  Headers:\n";
  if (!m.seal_problem.empty()) out << "    (sealed: " << printable_line(m.seal_problem) << ")\n";
  std::size_t start = 0;
  while (start < m.headers.size()) {
    std::size_t end = m.headers.find('\n', start);
    if (end == std::string::npos) end = m.headers.size();
    std::string line = m.headers.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out << "    " << printable(line) << '\n';
    start = end + 1;
  }
  if (m.headers_truncated) {
    out << "    (cut at " << schema::kQueueHeaderLimit << " bytes)\n";
  }
}

void print_queue_change(std::ostream& out, const char* key, std::size_t count) {
  emit(out, json{{key, count}});
}

void print_resealed(std::ostream& out, const std::string& key_id, const schema::ResealOutcome& outcome,
                    Format format) {
  if (format == Format::Json) {
    emit(out, json{{"resealed", outcome.resealed},
                   {"key", key_id},
                   {"in_delivery", outcome.in_delivery},
                   {"legacy", outcome.legacy},
                   {"unopenable", outcome.unopenable}});
    return;
  }
  out << plural(static_cast<long long>(outcome.resealed), "message", "messages") << " resealed under key "
      << printable_line(key_id) << '\n';
  if (outcome.in_delivery > 0) {
    out << plural(static_cast<long long>(outcome.in_delivery), "message", "messages")
        << " being delivered right now: run queue reseal again later\n";
  }
  if (outcome.legacy > 0) {
    out << plural(static_cast<long long>(outcome.legacy), "message", "messages")
        << " queued whole by a release older than migration 5: left in clear\n";
  }
  for (const auto& problem : outcome.unopenable) out << "not resealed: " << printable_line(problem) << '\n';
}

namespace {

std::string usability(const schema::ShareMap& map) {
  const std::string problem = schema::share_map_problem(map);
  return problem.empty() ? "usable" : "not usable: " + problem;
}

}  // namespace

void print_share_maps(std::ostream& out, std::vector<schema::ShareMap> maps, Format format) {
  std::sort(maps.begin(), maps.end(),
            [](const auto& a, const auto& b) { return a.recipient < b.recipient; });
  if (format == Format::Json) {
    json list = json::array();
    for (const auto& map : maps) list.push_back(schema::share_map_json(map));
    emit(out, json{{"shares", list}});
    return;
  }
  // Every column but the last is padded to its widest cell, so the columns line up.
  std::vector<std::vector<std::string>> lines;
  std::vector<std::size_t> widths(4, 0);
  for (const auto& map : maps) {
    std::vector<std::string> cells{
        printable_line(map.recipient),
        plural(static_cast<long long>(map.destinations.size()), "destination", "destinations"),
        "threshold " + (map.threshold ? std::to_string(*map.threshold) : std::string("all")),
        std::string(schema::share_format_name(map.format)), usability(map)};
    for (std::size_t i = 0; i < widths.size(); ++i) widths[i] = std::max(widths[i], display_width(cells[i]));
    lines.push_back(std::move(cells));
  }
  out << "--- postern_share_maps ---\n";
  for (const auto& cells : lines) {
    out << "    - ";
    for (std::size_t i = 0; i < widths.size(); ++i) out << pad(cells[i], widths[i]) << "  ";
    out << cells.back() << '\n';
  }
}

void print_share_map(std::ostream& out, const schema::ShareMapDetails& details, Format format) {
  const auto& map = details.map;
  if (format == Format::Json) {
    emit(out, json{{"share", schema::share_map_json(details)}});
    return;
  }
  const std::size_t n = map.destinations.size();
  out << "--- Show " << printable_line(map.recipient) << " ---\n";
  out << "  Status: " << usability(map) << '\n';
  out << "  Format: " << schema::share_format_name(map.format) << '\n';
  out << "  Threshold: ";
  if (map.threshold) {
    out << *map.threshold << " of " << n << " shares combine\n";
  } else {
    out << "all " << n << " shares (n of n)\n";
  }
  out << "  Destinations:\n";
  for (std::size_t i = 0; i < n; ++i) {
    out << "    " << i + 1 << ". " << printable_line(map.destinations[i].mailbox) << " via "
        << printable_line(map.destinations[i].upstream) << '\n';
  }
  out << "  Envelope from:\n";
  for (const auto& [upstream, address] : map.envelope_from) {
    const bool used = std::any_of(map.destinations.begin(), map.destinations.end(),
                                  [&](const auto& d) { return d.upstream == upstream; });
    out << "    * " << printable_line(upstream) << ": " << printable_line(address)
        << (used ? "" : " (no destination goes through this upstream)") << '\n';
  }
  out << "  Created: " << details.created_at << ", last changed: " << details.updated_at << '\n';
  out << "  Upstream names are not checked here: the relay refuses mail to this recipient (451 4.3.5)\n"
         "  while one is not an upstream of its postern.yaml.\n";
}

}  // namespace postern::mailadmin
