#include "server/delivery/routes.hpp"

#include <algorithm>
#include <optional>

#include "postern/schema/address.hpp"
#include "postern/schema/sender_rule.hpp"

namespace postern::delivery {
namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// The route as a grant, matched by the sender rule itself: case, IDNA and subaddress as there.
bool matches(const Route& route, const schema::Address& sender, const schema::SenderPolicy& policy) {
  if (!route.sender.empty()) {
    return schema::may_send_as(schema::UserGrants{{route.sender}, {}}, sender, policy).allowed;
  }
  return equals_ignoring_case(route.sender_domain, sender.domain);
}

// A sender that does not parse (a row written by an older release) is compared as written.
bool matches_as_written(const Route& route, std::string_view sender) {
  if (!route.sender.empty()) return equals_ignoring_case(route.sender, sender);
  const auto at = sender.rfind('@');
  return at != std::string_view::npos &&
         equals_ignoring_case(route.sender_domain, sender.substr(at + 1));
}

}  // namespace

const Upstream* find_upstream(const DeliveryConfig& config, std::string_view name) {
  const auto it = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                               [&](const Upstream& u) { return u.name == name; });
  return it == config.upstreams.end() ? nullptr : &*it;
}

const Upstream* select_upstream(const DeliveryConfig& config, std::string_view envelope_sender) {
  if (config.upstreams.empty()) return nullptr;
  if (!envelope_sender.empty()) {
    // Routes compare local parts case-insensitively whatever policy.local_part_case_sensitive
    // says: a case variant must not take another upstream (see routes.hpp).
    const schema::SenderPolicy policy{false, config.subaddress_delimiter};
    const auto sender = schema::parse_address(envelope_sender);
    for (const Route& route : config.routes) {
      const bool match =
          sender ? matches(route, *sender, policy) : matches_as_written(route, envelope_sender);
      if (match) return find_upstream(config, route.upstream);
    }
  }
  return find_upstream(config, config.default_upstream);
}

}  // namespace postern::delivery
