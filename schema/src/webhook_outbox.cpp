// The webhook outbox. See webhook_outbox.hpp and webhook_events.hpp.
#include "postern/schema/webhook_outbox.hpp"

#include "audit.hpp"
#include "guarded.hpp"
#include "statements.hpp"
#include "webhook_events.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace postern::schema {
namespace {

constexpr std::array<const char*, 5> kEventNames = {"accepted", "delivered", "deferred", "bounced", "expired"};

// The endpoint names as an array expression over parameter $n (a comma-joined list).
#define POSTERN_ENDPOINTS(n) "string_to_array($" #n ", ',')"

// An event has no earlier one of its endpoint and message left: it may be posted (the order rule).
#define POSTERN_FIRST_OF_ITS_MESSAGE                                                          \
  "NOT EXISTS (SELECT 1 FROM postern_webhook_outbox p "                                     \
  "             WHERE p.endpoint = o.endpoint AND p.message_id = o.message_id AND p.id < o.id)"

#define POSTERN_EVENT_COLUMNS                                                                        \
  "o.id, o.event_id::text, o.endpoint, o.event, o.message_id, o.sender, COALESCE(o.auth_user, ''), " \
  "o.intake, o.recipient, COALESCE(o.share_index, 0), COALESCE(o.reply, ''), "                     \
  "extract(epoch FROM o.created_at)::bigint, o.attempts"

constexpr Statement kStatements[] = {
    {"webhook_claim",
     "WITH due AS ("
     "  SELECT o.id FROM postern_webhook_outbox o"
     "   WHERE o.endpoint = ANY (" POSTERN_ENDPOINTS(4) ") AND o.next_attempt_at <= now()"
     "     AND (o.lease_until IS NULL OR o.lease_until < now()) AND " POSTERN_FIRST_OF_ITS_MESSAGE
     "   ORDER BY o.next_attempt_at, o.id LIMIT $2 FOR UPDATE SKIP LOCKED) "
     "UPDATE postern_webhook_outbox o SET lease_owner = $1, lease_until = now() + make_interval(secs => $3) "
     "  FROM due WHERE o.id = due.id AND " POSTERN_NO_FLUSH_WAIT
     " RETURNING " POSTERN_EVENT_COLUMNS},
    // Acknowledged: gone. Losing this commit in a crash only posts the event again.
    {"webhook_sent",
     "DELETE FROM postern_webhook_outbox WHERE id = ANY ($2::bigint[]) AND lease_owner = $1 AND " POSTERN_NO_FLUSH_WAIT},
    {"webhook_release",
     "UPDATE postern_webhook_outbox SET lease_owner = NULL, lease_until = NULL"
     " WHERE id = ANY ($2::bigint[]) AND lease_owner = $1 AND " POSTERN_NO_FLUSH_WAIT},
    // The prefix match is exact (no LIKE patterns: identities may hold '_'), as the queue's.
    {"webhook_release_earlier_boots",
     "UPDATE postern_webhook_outbox SET lease_owner = NULL, lease_until = NULL"
     " WHERE starts_with(lease_owner, $1::text || '/') AND lease_owner <> $2"},
    // The later events of its endpoint and message wait as long (they may not go before it), so
    // the claim, which walks due rows in the order of next_attempt_at, never wades through them
    // while an endpoint is down.
    {"webhook_failed",
     "WITH failed AS ("
     "  UPDATE postern_webhook_outbox SET lease_owner = NULL, lease_until = NULL, attempts = attempts + 1,"
     "         next_attempt_at = now() + make_interval(secs => $3), last_error = $4"
     "   WHERE id = $2 AND lease_owner = $1 AND " POSTERN_NO_FLUSH_WAIT
     "  RETURNING id, endpoint, message_id, next_attempt_at) "
     "UPDATE postern_webhook_outbox o SET next_attempt_at = f.next_attempt_at FROM failed f"
     " WHERE o.endpoint = f.endpoint AND o.message_id = f.message_id AND o.id > f.id"
     "   AND o.next_attempt_at < f.next_attempt_at"},
    {"webhook_give_up",
     "DELETE FROM postern_webhook_outbox o WHERE o.created_at < now() - make_interval(secs => $1)"
     "   AND (o.lease_until IS NULL OR o.lease_until < now()) RETURNING " POSTERN_EVENT_COLUMNS},
    // Events waiting behind an earlier one of their message are not due before it.
    {"webhook_next_due",
     "SELECT extract(epoch FROM min(GREATEST(o.next_attempt_at, COALESCE(o.lease_until, o.next_attempt_at))) - now())"
     "  FROM postern_webhook_outbox o WHERE o.endpoint = ANY (" POSTERN_ENDPOINTS(1) ") AND " POSTERN_FIRST_OF_ITS_MESSAGE},
};

// The operator's statements (mailadmin, the admin API): not prepared, their connections do not
// prepare the relay's.
constexpr const char* kBacklog =
    "SELECT o.endpoint, count(*), count(*) FILTER (WHERE o.attempts > 0),"
    "       extract(epoch FROM now() - min(o.created_at))::bigint,"
    "       COALESCE((SELECT f.last_error FROM postern_webhook_outbox f"
    "                  WHERE f.endpoint = o.endpoint AND f.last_error IS NOT NULL ORDER BY f.id LIMIT 1), '')"
    "  FROM postern_webhook_outbox o GROUP BY o.endpoint ORDER BY o.endpoint";

constexpr const char* kRetryNow =
    "UPDATE postern_webhook_outbox SET next_attempt_at = now()"
    " WHERE ($1 = '' OR endpoint = $1) AND next_attempt_at > now()";

WebhookEvent event_from(const pqxx::row& row) {
  WebhookEvent e;
  e.id = row[0].as<std::int64_t>();
  e.event_id = row[1].as<std::string>();
  e.endpoint = row[2].as<std::string>();
  e.type = row[3].as<std::string>();
  e.message_id = row[4].as<std::string>();
  e.sender = row[5].as<std::string>();
  e.auth_user = row[6].as<std::string>();
  e.intake = row[7].as<std::string>();
  e.recipient = row[8].as<std::string>();
  e.share_index = row[9].as<int>();
  e.reply = row[10].as<std::string>();
  e.created_at = row[11].as<long long>();
  e.attempts = row[12].as<int>();
  return e;
}

std::vector<WebhookEvent> events_from(const pqxx::result& rows) {
  std::vector<WebhookEvent> events;
  events.reserve(rows.size());
  for (const auto& row : rows) events.push_back(event_from(row));
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return events;
}

std::string comma_joined(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ",") + name;
  return joined;
}

}  // namespace

const char* webhook_event_name(WebhookEventType type) { return kEventNames[static_cast<std::size_t>(type)]; }

std::optional<WebhookEventType> webhook_event_type(std::string_view name) {
  for (std::size_t i = 0; i < kEventNames.size(); ++i) {
    if (name == kEventNames[i]) return static_cast<WebhookEventType>(i);
  }
  return std::nullopt;
}

bool is_webhook_endpoint_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '_' || c == '-'; });
}

void WebhookSubscriptions::add(const std::string& endpoint, WebhookEventType type) {
  if (!is_webhook_endpoint_name(endpoint)) throw std::invalid_argument("not a webhook endpoint name: " + endpoint);
  const std::string pair = endpoint + ":" + webhook_event_name(type);
  if (("," + pairs_ + ",").find("," + pair + ",") != std::string::npos) return;
  pairs_ += (pairs_.empty() ? "" : ",") + pair;
}

bool WebhookSubscriptions::wants(WebhookEventType type) const { return !endpoints(type).empty(); }

std::string WebhookSubscriptions::endpoints(WebhookEventType type) const {
  const std::string suffix = std::string(":") + webhook_event_name(type);
  std::string endpoints;
  std::size_t start = 0;
  while (start < pairs_.size()) {
    std::size_t end = pairs_.find(',', start);
    if (end == std::string::npos) end = pairs_.size();
    const std::string_view pair{pairs_.data() + start, end - start};
    if (pair.ends_with(suffix)) {
      endpoints += (endpoints.empty() ? "" : ",") + std::string(pair.substr(0, pair.size() - suffix.size()));
    }
    start = end + 1;
  }
  return endpoints;
}

std::string attempt_events_insert(std::string_view messages, int first) {
  const auto param = [first](int offset) { return "$" + std::to_string(first + offset); };
  return "INSERT INTO postern_webhook_outbox (endpoint, event, message_id, sender, auth_user, intake, recipient,"
         "                                    share_index, reply) "
         "SELECT split_part(s.pair, ':', 1), u.event, m.id, m.sender, m.auth_user, m.intake, r.recipient,"
         "       NULLIF(u.share, 0), NULLIF(u.reply, '')"
         "  FROM " + std::string(messages) + " AS m"
         "  JOIN postern_queue_recipients r ON r.message_id = m.id"
         "  JOIN unnest(" + param(0) + "::integer[], " + param(1) + "::integer[], " + param(2) + "::text[], " +
         param(3) + "::text[]) WITH ORDINALITY AS u(position, share, event, reply, n) ON u.position = r.position"
         "  JOIN unnest(string_to_array(" + param(4) + ", ',')) AS s(pair) ON split_part(s.pair, ':', 2) = u.event"
         " ORDER BY u.n, s.pair";
}

void AttemptEvents::add(int position, int share, WebhookEventType type, const std::string& reply) {
  positions.push_back(position);
  shares.push_back(share);
  events.emplace_back(webhook_event_name(type));
  replies.push_back(reply);
}

WebhookEventType event_of(RecipientOutcome outcome, bool expired) {
  switch (outcome) {
    case RecipientOutcome::Delivered: return WebhookEventType::Delivered;
    case RecipientOutcome::Deferred: return WebhookEventType::Deferred;
    case RecipientOutcome::Failed: break;
  }
  return expired ? WebhookEventType::Expired : WebhookEventType::Bounced;
}

void insert_attempt_events(pqxx::transaction_base& tx, const std::string& message_id, const AttemptEvents& events,
                           const WebhookSubscriptions& subscriptions) {
  if (events.empty() || subscriptions.empty()) return;
  tx.exec_prepared("webhook_attempt_events", message_id, array_literal(events.positions),
                   array_literal(events.shares), array_literal(events.events), array_literal(events.replies),
                   subscriptions.pairs());
}

void prepare_webhook_statements(pqxx::connection_base& db) {
  prepare_all(db, kStatements);
  db.prepare("webhook_attempt_events",
             attempt_events_insert("(SELECT id, sender, auth_user, intake FROM postern_queue WHERE id = $1)", 2));
}

std::vector<WebhookEvent> claim_webhook_events(pqxx::connection_base& db, const std::string& owner, int limit,
                                               int lease_seconds, const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return {};
  return guarded([&] {
    pqxx::nontransaction tx{db};
    return events_from(tx.exec_prepared("webhook_claim", owner, limit, lease_seconds, comma_joined(endpoints)));
  });
}

void webhook_events_sent(pqxx::connection_base& db, const std::string& owner, const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return;
  guarded([&] {
    pqxx::nontransaction tx{db};
    tx.exec_prepared("webhook_sent", owner, array_literal(ids));
  });
}

void release_webhook_events(pqxx::connection_base& db, const std::string& owner, const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return;
  guarded([&] {
    pqxx::nontransaction tx{db};
    tx.exec_prepared("webhook_release", owner, array_literal(ids));
  });
}

long release_earlier_webhook_leases(pqxx::connection_base& db, const std::string& identity,
                                    const std::string& owner) {
  return guarded([&] {
    pqxx::nontransaction tx{db};
    return static_cast<long>(tx.exec_prepared("webhook_release_earlier_boots", identity, owner).affected_rows());
  });
}

void webhook_event_failed(pqxx::connection_base& db, const std::string& owner, std::int64_t id,
                          int retry_after_seconds, const std::string& error) {
  guarded([&] {
    pqxx::nontransaction tx{db};
    tx.exec_prepared("webhook_failed", owner, id, retry_after_seconds, error);
  });
}

std::vector<WebhookEvent> give_up_webhook_events(pqxx::connection_base& db, long long max_age_seconds) {
  return guarded([&] {
    pqxx::nontransaction tx{db};
    return events_from(tx.exec_prepared("webhook_give_up", max_age_seconds));
  });
}

std::optional<double> seconds_until_next_webhook(pqxx::connection_base& db, const std::vector<std::string>& endpoints) {
  if (endpoints.empty()) return std::nullopt;
  return guarded([&]() -> std::optional<double> {
    pqxx::nontransaction tx{db};
    const auto rows = tx.exec_prepared("webhook_next_due", comma_joined(endpoints));
    if (rows.empty() || rows[0][0].is_null()) return std::nullopt;
    return std::max(0.0, rows[0][0].as<double>());
  });
}

std::vector<WebhookBacklog> webhook_backlog(pqxx::connection_base& db) {
  return guarded([&] {
    pqxx::read_transaction tx{db};
    std::vector<WebhookBacklog> backlog;
    for (const auto& row : tx.exec(kBacklog)) {
      backlog.push_back({row[0].as<std::string>(), row[1].as<long long>(), row[2].as<long long>(),
                         row[3].as<long long>(), row[4].as<std::string>()});
    }
    return backlog;
  });
}

long long retry_webhook_events_now(pqxx::connection_base& db, const std::string& endpoint, const std::string& actor) {
  if (!endpoint.empty() && !is_webhook_endpoint_name(endpoint)) {
    throw InvalidInput("not a webhook endpoint name: \"" + endpoint + "\" (1 to 63 of a-z, 0-9, _ and -)");
  }
  return guarded([&] {
    pqxx::work tx{db};
    const auto n = static_cast<long long>(tx.exec_params(kRetryNow, endpoint).affected_rows());
    record_audit(tx, actor, "webhooks retry", endpoint.empty() ? "--all" : endpoint,
                 std::to_string(n) + (n == 1 ? " event" : " events"));
    tx.commit();
    return n;
  });
}

}  // namespace postern::schema
