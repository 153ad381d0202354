// The administration operations that mailadmin and the admin HTTP API both offer, on names as an
// operator typed them: each call normalises its input, runs the Store's (or the queue's, the
// limits') change in one transaction with its audit row, and reports what is missing by name.
// The front ends only parse their own syntax and print.
//
//   const std::string user = schema::set_user_enabled(store, "Alice", false, "api:deploy");
//
// Names of rows that should exist are looked up in their normalised form when the text is valid,
// else as given: a legacy row that Secure Emailing accepted may not be valid today and must still
// be shown, revoked or deleted. When such a raw name is not found, its syntax error is the answer.
// Failures: NotFound, AlreadyExists, InvalidInput, DatabaseUnavailable (errors.hpp).
#pragma once

#include "postern/schema/password.hpp"
#include "postern/schema/queue_admin.hpp"
#include "postern/schema/sender_rule.hpp"
#include "postern/schema/sending_limits.hpp"
#include "postern/schema/store.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::schema {

// The normalised name of a row to create; InvalidInput when the text is not valid.
std::string new_user_name(const std::string& text);
std::string new_domain_name(const std::string& text);
std::string new_address(const std::string& text);

// The name to look a row up by (see above).
struct ExistingName {
  std::string key;
  std::string error;  // the syntax error when key is the raw text
  // Throws InvalidInput(error) for a raw name, else NotFound("<what> <key> does not exist").
  [[noreturn]] void not_found(const std::string& what) const;
};
ExistingName existing_user(const std::string& text);
ExistingName existing_domain(const std::string& text);
ExistingName existing_address(const std::string& text);

// ---- users ----------------------------------------------------------------------------------

// Each returns the user's normalised name. The password is hashed here (Argon2id, `params`).
std::string add_user(Store& store, const std::string& name, std::string_view password,
                     const Argon2Params& params, const std::string& actor);
std::string set_user_password(Store& store, const std::string& name, std::string_view password,
                              const Argon2Params& params, const std::string& actor);
std::string set_user_enabled(Store& store, const std::string& name, bool enabled, const std::string& actor);
std::string delete_user(Store& store, const std::string& name, const std::string& actor);

// What `show user` shows: the grants, the user's own limits and its counts in the open windows.
struct UserReport {
  UserDetails details;
  LimitOverrides limits;
  std::vector<WindowUsage> usage;
};
UserReport user_report(Store& store, const std::string& name);

// ---- addresses, domains, grants -------------------------------------------------------------

// Each returns the normalised address or domain.
std::string add_address(Store& store, const std::string& address, const std::string& actor);
std::string delete_address(Store& store, const std::string& address, const std::string& actor);
std::string add_domain(Store& store, const std::string& domain, const std::string& actor);
std::string delete_domain(Store& store, const std::string& domain, const std::string& actor);

// An address or a domain and the users granted it.
struct GrantHolders {
  std::string name;
  std::vector<std::string> users;
};
GrantHolders address_holders(Store& store, const std::string& address);
GrantHolders domain_holders(Store& store, const std::string& domain);

enum class GrantTarget { Address, Domain };
struct GrantChange {
  std::string target;  // normalised address or domain
  std::string user;    // normalised user name
};
GrantChange grant(Store& store, GrantTarget kind, const std::string& target, const std::string& user,
                  const std::string& actor);
GrantChange revoke(Store& store, GrantTarget kind, const std::string& target, const std::string& user,
                   const std::string& actor);

// May this user send as this address under `policy` (the relay's sender rule)?
struct SenderCheck {
  std::string user;
  std::string address;
  bool enabled = false;
  SenderDecision decision;
  bool allowed() const { return enabled && decision.allowed; }
};
SenderCheck check_sender(Store& store, const std::string& user, const std::string& address,
                         const SenderPolicy& policy);

// ---- sending limits -------------------------------------------------------------------------

// Which of a user's four limits to change, and to what; the others keep their setting.
struct LimitChanges {
  bool reset = false;  // all four back to the relay's postern.yaml
  std::optional<LimitSetting> messages_per_hour;
  std::optional<LimitSetting> messages_per_day;
  std::optional<LimitSetting> recipients_per_hour;
  std::optional<LimitSetting> recipients_per_day;

  bool empty() const {
    return !reset && !messages_per_hour && !messages_per_day && !recipients_per_hour && !recipients_per_day;
  }
  // `current` with these changes made.
  LimitOverrides applied_to(LimitOverrides current) const;
};

// The largest N of a limit: 2^53, which every JSON reader holds exactly.
inline constexpr std::int64_t kMaxLimit = std::int64_t{1} << 53;

LimitOverrides user_limits(Store& store, const std::string& user);
// Applies the changes in one transaction that locks the user; returns the limits now in force.
LimitOverrides change_user_limits(Store& store, const std::string& user, const LimitChanges& changes,
                                  const std::string& actor);

// ---- the queue ------------------------------------------------------------------------------

// NotFound("queued message ID does not exist") when there is none.
QueuedMessageDetails queued_message(Store& store, const std::string& id, const SealKeys& keys = {});

}  // namespace postern::schema
