// See conditions.hpp.
#include "server/handlers/conditions.hpp"

#include "postern/schema/sender_rule.hpp"
#include "server/filters/encoded_words.hpp"
#include "server/filters/header_block.hpp"

#include <algorithm>

namespace postern::handlers {
namespace {

bool header_matches(const HeaderMatch& match, std::string_view header_section) {
  const filters::HeaderBlock block = filters::parse_header_block(header_section);
  return std::any_of(block.fields.begin(), block.fields.end(), [&](const filters::HeaderField& field) {
    if (!filters::is_field(field, match.name)) return false;
    std::string value = filters::decode_encoded_words(filters::unfold(field.value));
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
    return match.pattern.search(value);
  });
}

}  // namespace

bool conditions_hold(const Conditions& when, const MessageFacts& message) {
  const auto matches = [&](std::string_view address, const std::string& mailbox, const std::string& domain) {
    return schema::address_matches(address, mailbox, domain, message.subaddress_delimiter);
  };
  if ((!when.sender.empty() || !when.sender_domain.empty()) &&
      !matches(message.sender, when.sender, when.sender_domain)) {
    return false;
  }
  if (!when.user.empty() && when.user != message.user) return false;
  if (!when.recipient.empty() || !when.recipient_domain.empty()) {
    const bool any = std::any_of(message.recipients.begin(), message.recipients.end(), [&](const std::string& r) {
      return matches(r, when.recipient, when.recipient_domain);
    });
    if (!any) return false;
  }
  if (when.size_above && !(message.size > *when.size_above)) return false;
  if (when.size_below && !(message.size < *when.size_below)) return false;
  if (when.header && !header_matches(*when.header, message.header_section)) return false;
  return true;
}

}  // namespace postern::handlers
