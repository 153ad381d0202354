#include "server/delivery/routes.hpp"

#include <algorithm>

#include "postern/schema/sender_rule.hpp"

namespace postern::delivery {

const Upstream* find_upstream(const DeliveryConfig& config, std::string_view name) {
  const auto it = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                               [&](const Upstream& u) { return u.name == name; });
  return it == config.upstreams.end() ? nullptr : &*it;
}

const Upstream* select_upstream(const DeliveryConfig& config, std::string_view envelope_sender) {
  if (config.upstreams.empty()) return nullptr;
  if (!envelope_sender.empty()) {
    for (const Route& route : config.routes) {
      if (schema::address_matches(envelope_sender, route.sender, route.sender_domain, config.subaddress_delimiter)) {
        return find_upstream(config, route.upstreams.front());
      }
    }
  }
  return find_upstream(config, config.default_upstream);
}

}  // namespace postern::delivery
