// The JSON the admin API answers with: the same keys as `mailadmin --json` prints for the same
// objects, so scripts can move from one to the other.
#pragma once

#include "postern/schema/admin_operations.hpp"
#include "postern/schema/queue_admin.hpp"
#include "postern/schema/share_maps.hpp"
#include "postern/schema/store.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace postern::admin {

// {"messages_per_hour": 100 | "unlimited" | "default", ...}
nlohmann::json limits_json(const schema::LimitOverrides& limits);
nlohmann::json user_json(const schema::UserReport& report);
nlohmann::json check_json(const schema::SenderCheck& check);
nlohmann::json audit_json(const std::vector<schema::AuditEntry>& entries);
nlohmann::json queue_entry_json(const schema::QueueEntry& entry);
nlohmann::json queued_message_json(const schema::QueuedMessageDetails& message);
nlohmann::json share_map_json(const schema::ShareMap& map);
nlohmann::json share_map_json(const schema::ShareMapDetails& details);

}  // namespace postern::admin
