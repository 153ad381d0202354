// See capabilities.hpp.
#include "server/pop3_client/capabilities.hpp"

#include "server/smtp/ascii.hpp"

#include <algorithm>

namespace pop3_client {
namespace {

// Enough for any real server; a hostile one cannot make the list grow without bound.
constexpr std::size_t kMaxMechanisms = 32;

}  // namespace

void Capabilities::add(std::string_view line) {
  const std::vector<std::string_view> words = smtp::split_on_spaces(line);
  if (words.empty()) return;
  const std::string name = smtp::to_ascii_upper(words.front());
  if (name == "STLS") {
    stls = true;
  } else if (name == "USER") {
    user = true;
  } else if (name == "SASL") {
    for (std::size_t i = 1; i < words.size(); ++i) {
      std::string mechanism = smtp::to_ascii_upper(words[i]);
      if (sasl.size() < kMaxMechanisms && !offers_sasl(mechanism)) sasl.push_back(std::move(mechanism));
    }
  }
}

bool Capabilities::offers_sasl(std::string_view mechanism) const {
  return std::find(sasl.begin(), sasl.end(), smtp::to_ascii_upper(mechanism)) != sasl.end();
}

}  // namespace pop3_client
