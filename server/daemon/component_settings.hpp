// The settings each component of the relay takes from postern.yaml, made from a Config: the
// daemon builds the components with them at start, and a reload (config_reload.hpp) hands the
// same settings, made from the file read again, to their reconfigure methods.
#pragma once

#include "server/admin/api_request.hpp"
#include "server/auth/credential_check.hpp"
#include "server/auth/failure_throttle.hpp"
#include "server/config/config.hpp"
#include "server/net/session.hpp"
#include "server/policy/sending_budget.hpp"
#include "server/policy/sending_limits.hpp"
#include "server/queue/handler_chain.hpp"
#include "server/queue/message_intake.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/user_cache.hpp"

#include "postern/schema/password.hpp"
#include "postern/schema/sender_rule.hpp"

#include <string>
#include <vector>

namespace postern::daemon {

log::Level log_level(const config::Config& config);
schema::Argon2Params argon2_params(const config::Config& config);
auth::FailureThrottle::Limits throttle_limits(const config::Config& config);
UserCacheLimits cache_limits(const config::Config& config);
schema::SenderPolicy sender_policy(const config::Config& config);
policy::Limits sending_defaults(const config::Config& config);
policy::SendingLimits::Options sending_limits_options(const config::Config& config, std::string replica);
// Without the check of the spool directory, which only the start makes.
queue::IntakeOptions intake_options(const config::Config& config);
queue::ChainOptions chain_options(const config::Config& config);
// The upstreams share maps may name: the relay's own.
std::vector<std::string> upstream_names(const config::Config& config);
// What the sessions of one listener run on: the limits every session shares, and the listener's
// own TLS mode, role and domains.
net::SessionSettings session_settings(const config::Config& config, const config::ListenerConfig& listener);
// Bearer token logins (AUTH OAUTHBEARER, XOAUTH2); none without an oauth section.
std::optional<auth::BearerSettings> bearer_settings(const config::Config& config);
// What the admin API's operations take from the relay's settings.
admin::ApiSettings api_settings(const config::Config& config);

}  // namespace postern::daemon
