// A handler's `when`, matched against a message as the handlers before it left it: the envelope,
// the authenticated user, the header section and the size. Pure.
//
//   MessageFacts facts{sender, recipients, user, header_section, size, "+"};
//   if (conditions_hold(handler.when, facts)) run(handler.action);
#pragma once

#include "server/handlers/handler.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern::handlers {

struct MessageFacts {
  std::string_view sender;                   // the envelope sender, as the client wrote it
  const std::vector<std::string>& recipients;
  std::string_view user;                     // the authenticated user
  std::string_view header_section;           // through the empty line (CRLF line endings)
  std::uint64_t size = 0;                    // the whole message's octets
  std::string_view subaddress_delimiter;     // policy.subaddress_delimiter
};

// Whether every condition set in `when` holds. A header condition holds when some field of that
// name has a value that matches, unfolded and with RFC 2047 encoded-words decoded (what a reader
// sees: "Subject: =?UTF-8?B?...?=" matches as its text).
bool conditions_hold(const Conditions& when, const MessageFacts& message);

}  // namespace postern::handlers
