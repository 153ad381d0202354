// The Postern-Signature header of a webhook POST: "t=<unix time>,v1=<hex HMAC-SHA256>", the HMAC
// under the endpoint's secret of "<t>.<body>". A receiver recomputes it over the body it got and
// compares in constant time; the time lets it refuse old replays.
//
//   request.set("Postern-Signature", webhook_signature(endpoint.secret, now, body));
#pragma once

#include <string>
#include <string_view>

namespace postern::webhooks {

// The lowercase hex HMAC-SHA256 of `message` under `key` (a key of any length).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

std::string webhook_signature(std::string_view secret, long long unix_time, std::string_view body);

}  // namespace postern::webhooks
