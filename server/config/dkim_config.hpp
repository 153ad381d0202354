// Internal to the config loader: the `dkim:` section of postern.yaml (enabled, headers), read
// into delivery::DkimConfig. Without the section, signing is on with dkim's default header list;
// mail is signed only for domains that have a key (`mailadmin dkim add`).
#pragma once

#include "server/config/config_reader.hpp"
#include "server/delivery/upstream.hpp"

namespace postern::config::detail {

void read_dkim(Section& root, postern::delivery::DkimConfig& cfg);

}  // namespace postern::config::detail
