// See dkim_config.hpp.
#include "server/config/dkim_config.hpp"

#include "dkim/signature.hpp"

#include <algorithm>
#include <cctype>

namespace postern::config::detail {
namespace {

bool is_from(const std::string& name) {
  return name.size() == 4 && std::equal(name.begin(), name.end(), "from", [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

void read_dkim(Section& root, postern::delivery::DkimConfig& cfg) {
  cfg.headers = dkim::default_signed_headers();
  root.section("dkim", [&](Section& s) {
    s.read("enabled", cfg.enabled);
    if (!s.read("headers", cfg.headers)) return;
    // DMARC aligns on From: a signature that does not cover it is worth nothing.
    if (std::none_of(cfg.headers.begin(), cfg.headers.end(), is_from)) {
      s.fail_at("headers", "must include From (RFC 6376 §5.4)");
    }
    for (const std::string& name : cfg.headers) {
      const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return c > 32 && c < 127 && c != ':';
      });
      if (!valid) s.fail_at("headers", "\"" + name + "\" is not a header field name");
    }
  });
}

}  // namespace postern::config::detail
