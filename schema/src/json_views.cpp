// See json_views.hpp.
#include "postern/schema/json_views.hpp"

#include <algorithm>

namespace postern::schema {
namespace {

using nlohmann::json;

json null_if_empty(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

json limit_json(const LimitSetting& setting) {
  switch (setting.kind) {
    case LimitSetting::Kind::Default: return "default";
    case LimitSetting::Kind::Unlimited: return "unlimited";
    case LimitSetting::Kind::AtMost: return setting.count;
  }
  return "default";
}

json recipients_json(const std::vector<QueueRecipient>& recipients, bool detailed) {
  json list = json::array();
  for (const auto& r : recipients) {
    json item{{"address", r.address}, {"status", r.status}};
    if (detailed) {
      item["attempts"] = r.attempts;
      item["last_reply"] = null_if_empty(r.last_reply);
      item["updated_at"] = r.updated_at;
      // A shared recipient's shares, or a fanned-out recipient's copies.
      json shares = json::array();
      for (const auto& d : r.destinations) {
        shares.push_back({{"index", d.index}, {"kind", d.copy ? "copy" : "share"}, {"mailbox", d.mailbox},
                          {"upstream", d.upstream}, {"status", d.status}, {"attempts", d.attempts},
                          {"last_reply", null_if_empty(d.last_reply)}});
      }
      if (!shares.empty()) item["shares"] = std::move(shares);
    }
    list.push_back(item);
  }
  return list;
}

json entry_json(const QueueEntry& e, bool detailed) {
  return json{{"id", e.id},
              {"created_at", e.created_at},
              {"age_seconds", e.age_seconds},
              {"sender", e.sender},
              {"auth_user", null_if_empty(e.auth_user)},
              {"recipients", recipients_json(e.recipients, detailed)},
              {"recipients_total", e.recipients.size()},
              {"recipients_pending", e.recipients_pending},
              {"attempts", e.attempts},
              {"next_attempt_at", e.next_attempt_at},
              {"held", e.held},
              {"leased", e.leased},
              {"last_error", null_if_empty(e.last_error)}};
}

}  // namespace

json limits_json(const LimitOverrides& limits) {
  return {{"messages_per_hour", limit_json(limits.messages_per_hour)},
          {"messages_per_day", limit_json(limits.messages_per_day)},
          {"recipients_per_hour", limit_json(limits.recipients_per_hour)},
          {"recipients_per_day", limit_json(limits.recipients_per_day)}};
}

json usage_json(const std::vector<WindowUsage>& usage) {
  json list = json::array();
  for (const auto& u : usage) {
    list.push_back({{"window_seconds", u.window.seconds},
                    {"window_start", u.started_at},
                    {"messages", u.usage.messages},
                    {"recipients", u.usage.recipients}});
  }
  return list;
}

json user_json(const UserReport& report) {
  const auto& user = report.details;
  return {{"name", user.name},
          {"enabled", user.enabled},
          {"legacy_password", user.legacy_password},
          {"password_scheme", user.legacy_password ? "legacy-md5" : "argon2id"},
          {"created_at", null_if_empty(user.created_at)},
          {"last_login_at", null_if_empty(user.last_login_at)},
          {"addresses", sorted(user.addresses)},
          {"domains", sorted(user.domains)},
          {"limits", limits_json(report.limits)},
          {"usage", usage_json(report.usage)}};
}

json check_json(const SenderCheck& check) {
  const auto& decision = check.decision;
  const char* via = decision.via == GrantKind::Address  ? "address"
                    : decision.via == GrantKind::Domain ? "domain"
                                                                : nullptr;
  return {{"user", check.user},
          {"address", check.address},
          {"allowed", check.allowed()},
          {"enabled", check.enabled},
          {"via", via ? json(via) : json(nullptr)},
          {"grant", decision.allowed ? json(decision.grant) : json(nullptr)}};
}

json audit_json(const std::vector<AuditEntry>& entries) {
  json list = json::array();
  for (const auto& e : entries) {
    list.push_back({{"at", e.at}, {"actor", e.actor}, {"action", e.action}, {"subject", e.subject},
                    {"detail", e.detail}});
  }
  return list;
}

json queue_entry_json(const QueueEntry& entry) { return entry_json(entry, false); }

json queued_message_json(const QueuedMessageDetails& m) {
  json message = entry_json(m.entry, true);
  message["client_address"] = m.client_address;
  message["helo"] = m.helo;
  message["body_type"] = m.body_type;
  message["smtputf8"] = m.smtputf8;
  message["size"] = m.size;
  message["lease_owner"] = null_if_empty(m.lease_owner);
  message["lease_until"] = null_if_empty(m.lease_until);
  message["upstream"] = null_if_empty(m.upstream);
  message["intake"] = m.intake;
  message["dsn"] = m.dsn;
  message["headers"] = m.headers;
  message["headers_truncated"] = m.headers_truncated;
  message["seal_key"] = null_if_empty(m.seal_key);
  message["seal_problem"] = null_if_empty(m.seal_problem);
  return message;
}

json dkim_key_json(const DkimKey& key) {
  return {{"domain", key.domain},         {"selector", key.selector},
          {"algorithm", key.algorithm},   {"public_key", key.public_key},
          {"created_at", key.created_at}, {"dns_record", dkim_dns_record(key)}};
}

json webhook_backlog_json(const std::vector<WebhookBacklog>& backlog) {
  json list = json::array();
  for (const auto& b : backlog) {
    list.push_back({{"endpoint", b.endpoint},
                    {"pending", b.pending},
                    {"failing", b.failing},
                    {"oldest_age_seconds", b.oldest_age_seconds},
                    {"last_error", b.last_error.empty() ? json(nullptr) : json(b.last_error)}});
  }
  return {{"webhooks", list}};
}

json share_map_json(const ShareMap& map) {
  const std::string problem = share_map_problem(map);
  json destinations = json::array();
  for (std::size_t i = 0; i < map.destinations.size(); ++i) {
    destinations.push_back({{"index", i + 1},
                            {"mailbox", map.destinations[i].mailbox},
                            {"upstream", map.destinations[i].upstream}});
  }
  return {{"recipient", map.recipient},
          {"usable", problem.empty()},
          {"problem", null_if_empty(problem)},
          {"format", std::string(share_format_name(map.format))},
          {"threshold", map.threshold ? json(*map.threshold) : json(nullptr)},
          {"destinations", destinations},
          {"envelope_from", json(map.envelope_from)}};
}

json share_map_json(const ShareMapDetails& details) {
  json map = share_map_json(details.map);
  map["created_at"] = details.created_at;
  map["updated_at"] = details.updated_at;
  return map;
}

}  // namespace postern::schema
