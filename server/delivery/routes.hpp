// Route selection: which upstreams deliver a queued message's recipient. The delivery engine
// asks before each attempt (so a changed config applies to mail already queued); intake asks
// once, to fan a recipient out to every upstream of a route that names several (those copies are
// fixed when the message is queued, each then tracked on its own). Routes come from postern.yaml
// (see upstream.hpp).
//
// Routes are tried in file order and the first match wins, per recipient: a `sender` route
// matches the whole envelope sender, a `sender_domain` route the sender's domain, a
// `recipient_domain` route the recipient's domain (that domain exactly, not its subdomains).
// Addresses are compared as the grant check compares them (schema::address_matches), so no
// spelling that the grant check lets through escapes a route: the domain after IDNA
// normalisation, the local part ASCII case-insensitively, with its subaddress (`alerts+x@` takes
// the route of `alerts@` when the delimiter is "+"). The route's own addresses and domains were
// normalised when the config was loaded. The null sender "" (a DSN) matches no sender route; an
// unmatched recipient goes to the default upstream.
#pragma once

#include <string_view>

#include "server/delivery/upstream.hpp"

namespace postern::delivery {

// The upstream with this name, or nullptr.
const Upstream* find_upstream(const DeliveryConfig& config, std::string_view name);

// The first route for mail from `envelope_sender` to `recipient` (both without angle brackets,
// as the client wrote them), or nullptr: the default upstream takes it.
const Route* matching_route(const DeliveryConfig& config, std::string_view envelope_sender,
                            std::string_view recipient);

// The upstream for mail from `envelope_sender` to `recipient`: the first of its route's, else
// the default; nullptr when delivery is disabled (no upstreams) — or when the config names an
// upstream that does not exist, which the config loader refuses.
const Upstream* select_upstream(const DeliveryConfig& config, std::string_view envelope_sender,
                                std::string_view recipient);

}  // namespace postern::delivery
