// Internal to the config loader: the delivery keys of postern.yaml (`delivery:`, `upstreams:`,
// `routes:`, `default_upstream:`), read into delivery::DeliveryConfig. parse_config() calls
// read_delivery() with the root section; the checks that relate several keys, resolve an
// upstream's password (password_file, password_env) and fill in default ports are queued and
// run after the whole file has been read.
#pragma once

#include "server/config/config.hpp"
#include "server/config/config_reader.hpp"

namespace postern::config::detail {

void read_delivery(Section& root, postern::delivery::DeliveryConfig& cfg, const Environment& env,
                   Checks& checks);

}  // namespace postern::config::detail
