// Route selection: which upstream delivers a queued message. The delivery engine calls
// select_upstream() with the message's envelope sender before each attempt (so a reloaded
// config applies to mail already queued); routes come from postern.yaml (see upstream.hpp).
//
// Routes are tried in file order and the first match wins: a `sender` route matches the whole
// address, a `sender_domain` route the part after the last '@' (that domain exactly, not its
// subdomains). The sender is compared as the grant check compares it (schema::parse_address and
// schema::may_send_as), so no spelling that the grant check lets through escapes a route: the
// domain after IDNA normalisation (`example.org`, `EXAMPLE.org`, its full-width form), and for a
// `sender` route the local part ASCII case-insensitively (RFC 5321 §2.4 leaves a local part's
// case to the mailbox's own host and discourages relying on it) and with its subaddress
// (`alerts+x@` takes the route of `alerts@` when the delimiter is "+"). The route's own sender
// and domain were normalised when the config was loaded. The null sender "" (a DSN) and any
// unmatched sender go to the default upstream.
#pragma once

#include <string_view>

#include "server/delivery/upstream.hpp"

namespace postern::delivery {

// The upstream with this name, or nullptr.
const Upstream* find_upstream(const DeliveryConfig& config, std::string_view name);

// The upstream for mail from `envelope_sender` (without angle brackets, as the client wrote it),
// or nullptr when delivery is disabled (no upstreams) — or when the config names an upstream
// that does not exist, which the config loader refuses.
const Upstream* select_upstream(const DeliveryConfig& config, std::string_view envelope_sender);

}  // namespace postern::delivery
