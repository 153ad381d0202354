// See admin_operations.hpp.
#include "postern/schema/admin_operations.hpp"

#include "postern/schema/address.hpp"
#include "postern/schema/errors.hpp"

#include <initializer_list>

namespace postern::schema {
namespace {

template <class T>
T strict(const Parsed<T>& parsed) {
  if (!parsed) throw InvalidInput(parsed.error);
  return *parsed;
}

template <class T, class F>
ExistingName lookup(const Parsed<T>& parsed, const std::string& raw, F&& to_key) {
  if (parsed) return {to_key(*parsed), ""};
  return {raw, parsed.error};
}

std::string same(const std::string& s) { return s; }

// Runs a change on existing rows; a raw (invalid) name that is not found reports its syntax.
template <class F>
void on_existing(std::initializer_list<const ExistingName*> names, F&& change) {
  try {
    change();
  } catch (const NotFound&) {
    for (const ExistingName* name : names) {
      if (!name->error.empty()) throw InvalidInput(name->error);
    }
    throw;
  }
}

}  // namespace

std::string new_user_name(const std::string& text) { return strict(normalize_user_name(text)); }
std::string new_domain_name(const std::string& text) { return strict(normalize_domain(text)); }
std::string new_address(const std::string& text) { return strict(parse_address(text)).str(); }

void ExistingName::not_found(const std::string& what) const {
  if (!error.empty()) throw InvalidInput(error);
  throw NotFound(what + " " + key + " does not exist");
}

ExistingName existing_user(const std::string& text) { return lookup(normalize_user_name(text), text, same); }
ExistingName existing_domain(const std::string& text) { return lookup(normalize_domain(text), text, same); }
ExistingName existing_address(const std::string& text) {
  return lookup(parse_address(text), text, [](const Address& a) { return a.str(); });
}

// ---- users ----------------------------------------------------------------------------------

std::string add_user(Store& store, const std::string& name, std::string_view password, const Argon2Params& params,
                     const std::string& actor) {
  const std::string user = new_user_name(name);
  store.add_user(user, hash_password(password, params), actor);
  return user;
}

std::string set_user_password(Store& store, const std::string& name, std::string_view password,
                              const Argon2Params& params, const std::string& actor) {
  const ExistingName user = existing_user(name);
  const std::string hash = hash_password(password, params);
  on_existing({&user}, [&] { store.set_password(user.key, hash, actor); });
  return user.key;
}

std::string set_user_enabled(Store& store, const std::string& name, bool enabled, const std::string& actor) {
  const ExistingName user = existing_user(name);
  on_existing({&user}, [&] { store.set_enabled(user.key, enabled, actor); });
  return user.key;
}

std::string delete_user(Store& store, const std::string& name, const std::string& actor) {
  const ExistingName user = existing_user(name);
  on_existing({&user}, [&] { store.delete_user(user.key, actor); });
  return user.key;
}

UserReport user_report(Store& store, const std::string& name) {
  const ExistingName user = existing_user(name);
  auto details = store.find_user(user.key);
  if (!details) user.not_found("user");
  auto& db = store.connection();
  return {std::move(*details), sending_limits_of(db, user.key), current_sending_usage(db, user.key)};
}

// ---- addresses, domains, grants -------------------------------------------------------------

std::string add_address(Store& store, const std::string& address, const std::string& actor) {
  const std::string key = new_address(address);
  store.add_address(key, actor);
  return key;
}

std::string delete_address(Store& store, const std::string& address, const std::string& actor) {
  const ExistingName name = existing_address(address);
  on_existing({&name}, [&] { store.delete_address(name.key, actor); });
  return name.key;
}

std::string add_domain(Store& store, const std::string& domain, const std::string& actor) {
  const std::string key = new_domain_name(domain);
  store.add_domain(key, actor);
  return key;
}

std::string delete_domain(Store& store, const std::string& domain, const std::string& actor) {
  const ExistingName name = existing_domain(domain);
  on_existing({&name}, [&] { store.delete_domain(name.key, actor); });
  return name.key;
}

GrantHolders address_holders(Store& store, const std::string& address) {
  const ExistingName name = existing_address(address);
  auto users = store.users_of_address(name.key);
  if (!users) name.not_found("address");
  return {name.key, std::move(*users)};
}

GrantHolders domain_holders(Store& store, const std::string& domain) {
  const ExistingName name = existing_domain(domain);
  auto users = store.users_of_domain(name.key);
  if (!users) name.not_found("domain");
  return {name.key, std::move(*users)};
}

namespace {

GrantChange change_grant(Store& store, GrantTarget kind, bool granting, const std::string& target,
                         const std::string& user, const std::string& actor) {
  const ExistingName who = existing_user(user);
  const ExistingName what = kind == GrantTarget::Address ? existing_address(target) : existing_domain(target);
  on_existing({&who, &what}, [&] {
    if (kind == GrantTarget::Address && granting) store.grant_address(what.key, who.key, actor);
    if (kind == GrantTarget::Address && !granting) store.revoke_address(what.key, who.key, actor);
    if (kind == GrantTarget::Domain && granting) store.grant_domain(what.key, who.key, actor);
    if (kind == GrantTarget::Domain && !granting) store.revoke_domain(what.key, who.key, actor);
  });
  return {what.key, who.key};
}

}  // namespace

GrantChange grant(Store& store, GrantTarget kind, const std::string& target, const std::string& user,
                  const std::string& actor) {
  return change_grant(store, kind, true, target, user, actor);
}

GrantChange revoke(Store& store, GrantTarget kind, const std::string& target, const std::string& user,
                   const std::string& actor) {
  return change_grant(store, kind, false, target, user, actor);
}

SenderCheck check_sender(Store& store, const std::string& user, const std::string& address,
                         const SenderPolicy& policy) {
  const ExistingName who = existing_user(user);
  const Address sender = strict(parse_address(address));
  auto details = store.find_user(who.key);
  if (!details) who.not_found("user");
  return {details->name, sender.str(), details->enabled,
          may_send_as({details->addresses, details->domains}, sender, policy)};
}

// ---- sending limits -------------------------------------------------------------------------

LimitOverrides LimitChanges::applied_to(LimitOverrides current) const {
  if (reset) return {};
  if (messages_per_hour) current.messages_per_hour = *messages_per_hour;
  if (messages_per_day) current.messages_per_day = *messages_per_day;
  if (recipients_per_hour) current.recipients_per_hour = *recipients_per_hour;
  if (recipients_per_day) current.recipients_per_day = *recipients_per_day;
  return current;
}

LimitOverrides user_limits(Store& store, const std::string& user) {
  const ExistingName who = existing_user(user);
  LimitOverrides limits;
  on_existing({&who}, [&] { limits = sending_limits_of(store.connection(), who.key); });
  return limits;
}

// Only the limits named change: the others are read under the lock and written back as they are.
LimitOverrides change_user_limits(Store& store, const std::string& user, const LimitChanges& changes,
                                  const std::string& actor) {
  const ExistingName who = existing_user(user);
  LimitOverrides limits;
  on_existing({&who}, [&] {
    limits = change_sending_limits(
        store.connection(), who.key, [&](const LimitOverrides& current) { return changes.applied_to(current); },
        actor);
  });
  return limits;
}

// ---- the queue ------------------------------------------------------------------------------

QueuedMessageDetails queued_message(Store& store, const std::string& id, const SealKeys& keys) {
  auto message = show_queued(store.connection(), id, keys);
  if (!message) throw NotFound("queued message " + id + " does not exist");
  return std::move(*message);
}

}  // namespace postern::schema
