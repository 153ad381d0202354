// Internal to the config loader: `handlers:` and `handler_commands:` of postern.yaml, read into
// handlers::HandlerSettings. A handler names one action; which upstream a `route` names, whether
// a command's program and working directory exist, and a rewrite's default output limit (the
// message size limit) are settled by queued checks once the whole file has been read.
#pragma once

#include "server/config/config.hpp"
#include "server/config/config_reader.hpp"

namespace postern::config::detail {

void read_handlers(Section& root, Config& cfg, Checks& checks);

}  // namespace postern::config::detail
