// The data model as JSON: what `mailadmin --json` prints and the admin API answers with, from
// this one place, so scripts can move from one to the other.
#pragma once

#include "postern/schema/admin_operations.hpp"
#include "postern/schema/dkim_keys.hpp"
#include "postern/schema/queue_admin.hpp"
#include "postern/schema/share_maps.hpp"
#include "postern/schema/store.hpp"
#include "postern/schema/webhook_outbox.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace postern::schema {

// {"messages_per_hour": 100 | "unlimited" | "default", ...}
nlohmann::json limits_json(const LimitOverrides& limits);
// {"window_seconds", "window_start", "messages", "recipients"} per window
nlohmann::json usage_json(const std::vector<WindowUsage>& usage);
nlohmann::json user_json(const UserReport& report);
nlohmann::json check_json(const SenderCheck& check);
nlohmann::json audit_json(const std::vector<AuditEntry>& entries);
nlohmann::json queue_entry_json(const QueueEntry& entry);
nlohmann::json queued_message_json(const QueuedMessageDetails& message);
nlohmann::json share_map_json(const ShareMap& map);
nlohmann::json share_map_json(const ShareMapDetails& details);
// A DKIM key, with the DNS TXT record to publish (never its private key).
nlohmann::json dkim_key_json(const DkimKey& key);
// {"webhooks": [{"endpoint", "pending", "failing", "oldest_age_seconds", "last_error"}]}: the
// events waiting per endpoint (last_error null when none failed).
nlohmann::json webhook_backlog_json(const std::vector<WebhookBacklog>& backlog);

}  // namespace postern::schema
