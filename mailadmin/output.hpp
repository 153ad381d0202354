// Renderers for everything mailadmin prints on stdout: the human layout (kept recognisable from
// Secure Emailing's mailadmin, with its typos fixed) and a JSON form with stable keys for
// scripts (--json). Pure functions of their input; no database access.
#pragma once

#include "postern/schema/migrations.hpp"
#include "postern/schema/admin_operations.hpp"
#include "postern/schema/json_views.hpp"
#include "postern/schema/queue_admin.hpp"
#include "postern/schema/queue_seal.hpp"
#include "postern/schema/relay_role.hpp"
#include "postern/schema/sender_rule.hpp"
#include "postern/schema/sending_limits.hpp"
#include "postern/schema/share_maps.hpp"
#include "postern/schema/store.hpp"

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace postern::mailadmin {

enum class Format { Human, Json };

// list users: {"users":[{"name":"demo","enabled":true}]}
void print_users(std::ostream& out, std::vector<schema::UserSummary> users, Format format);
// list addresses / list domains: {"addresses":[...]} / {"domains":[...]}
void print_addresses(std::ostream& out, std::vector<std::string> addresses, Format format);
void print_domains(std::ostream& out, std::vector<std::string> domains, Format format);

// show user: {"user":{"name","enabled","legacy_password","password_scheme","created_at",
//                     "last_login_at","addresses","domains","limits","usage"}}, "limits" as in
// print_user_limits, "usage" the windows that have not ended, shortest first:
// [{"window_seconds":3600,"window_start":"2026-12-01 10:00:00","messages":3,"recipients":5}].
// Human: the limits and the usage ("none" without a count) after the grants.
void print_user(std::ostream& out, const schema::UserReport& report, Format format);
// limit USER: {"user":{"name","limits":{"messages_per_hour","messages_per_day",
//   "recipients_per_hour","recipients_per_day"}}}, each a number, "unlimited" or "default" (the
//   relay's postern.yaml): the same keys as in show user. Human: the Limits part of show user.
void print_user_limits(std::ostream& out, const std::string& user, const schema::LimitOverrides& limits,
                       Format format);
// show address: {"address":{"address":A,"users":[...]}}; show domain: {"domain":{"domain":D,...}}
void print_address_users(std::ostream& out, const std::string& address,
                         std::vector<std::string> users, Format format);
void print_domain_users(std::ostream& out, const std::string& domain,
                        std::vector<std::string> users, Format format);

using CheckResult = schema::SenderCheck;
// check: {"user","address","allowed","enabled","via":"address"|"domain"|null,"grant":...|null}
void print_check(std::ostream& out, const CheckResult& result, Format format);

// audit: {"audit":[{"at","actor","action","subject","detail"}]}
void print_audit(std::ostream& out, const std::vector<schema::AuditEntry>& entries, Format format);

// migrate --status: {"migrations":[{"version","name","state","applied_at"}],
// "relay_role":{"name","exists","login","superuser","missing_grants":[...],"ready"}}, state one
// of "applied", "pending", "pending_contract", "changed", "unknown". Human: a line per migration,
// then "relay role NAME: ready" or what it lacks.
void print_migration_status(std::ostream& out, const schema::MigrationPlan& plan,
                            const schema::RelayRoleStatus& relay_role, Format format);
// migrate: {"applied":[{"version","name"}],"relay_role":{"name","created","password_set"}}
// ("relay_role" left out when relay_role is null: it could not be set up). Human: a line per
// migration applied (or "database is up to date"), and one when the role was created or its
// password set.
void print_migrated(std::ostream& out, const std::vector<int>& versions,
                    const schema::RelayRoleOutcome* relay_role, Format format);

// queue list: {"queue":[{"id","created_at","age_seconds","sender","recipients":[{"address",
//   "status"}],"recipients_total","recipients_pending","attempts","next_attempt_at","held",
//   "leased","last_error"|null}]}, oldest first. Human: one aligned line per message,
//   "- ID  age 2h13m  from SENDER  to 2 recipients (1 pending)  attempts 3  STATE[  last error: E]"
//   with STATE one of "next in 4m10s", "due now", "overdue 5m02s", "held", "delivering".
void print_queue(std::ostream& out, const std::vector<schema::QueueEntry>& entries, Format format);

// DKIM keys: `dkim list` a line each (domain, selector, algorithm, created); `dkim show` each
// key with the DNS TXT record to publish.
void print_dkim_keys(std::ostream& out, const std::vector<schema::DkimKey>& keys, Format format);
void print_dkim_records(std::ostream& out, const std::vector<schema::DkimKey>& keys, Format format);
// `webhooks status`: the events waiting per endpoint.
void print_webhook_backlog(std::ostream& out, const std::vector<schema::WebhookBacklog>& backlog, Format format);
// queue show: {"message":{"id","created_at","age_seconds","sender","auth_user","client_address",
//   "helo","body_type","smtputf8","size","attempts","next_attempt_at","held","leased",
//   "lease_owner"|null,"lease_until"|null,"last_error"|null,"recipients_total",
//   "recipients_pending","recipients":[{"address","status","attempts","last_reply"|null,
//   "updated_at"}],"headers","headers_truncated"}}
void print_queued_message(std::ostream& out, const schema::QueuedMessageDetails& message,
                          Format format);
// The JSON answer of queue retry/hold/release/delete: {"retried":n}, {"held":n}, ...
void print_queue_change(std::ostream& out, const char* key, std::size_t count);
// `queue reseal`: how many messages are under the sealing key now, and which were left.
void print_resealed(std::ostream& out, const std::string& key_id, const schema::ResealOutcome& outcome,
                    Format format);

// list shares: {"shares":[{"recipient","usable","problem"|null,"format","threshold"|null,
//   "destinations":[{"index","mailbox","upstream"}],"envelope_from":{UPSTREAM: ADDRESS}}]},
//   sorted by recipient. Human: one aligned line per map,
//   "- RECIPIENT  3 destinations  threshold 2|all  FORMAT  usable|not usable: PROBLEM".
void print_share_maps(std::ostream& out, std::vector<schema::ShareMap> maps, Format format);
// show share: {"share":{...as in list shares..., "created_at","updated_at"}}. Human: status (and
// why not usable), format, threshold, the destinations with their share index and upstream, the
// envelope senders by upstream, and that upstream names are checked by the relay, not here.
void print_share_map(std::ostream& out, const schema::ShareMapDetails& details, Format format);

// "45s", "4m10s", "2h13m", "3d04h".
std::string short_duration(long long seconds);

}  // namespace postern::mailadmin
