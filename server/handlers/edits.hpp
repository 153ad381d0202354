// The built-in handler actions that change a message (handler.hpp): applied to a draft — the
// envelope and the header section — before it is queued. Pure; the body is never touched.
//
//   Draft draft{envelope.mail_from, envelope.recipients, head.header_section};
//   apply(draft, SetRecipient{"archive@example.org"});
//
// Header fields are written as "Name: value" CRLF. A field is added at the end of the header
// section (where MTAs and milters add theirs); replacing a field removes every field of that
// name and puts the new one where the first stood (at the end when there was none).
#pragma once

#include "server/handlers/handler.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace postern::handlers {

struct Draft {
  std::string sender;
  std::vector<std::string> recipients;
  std::string header_section;  // through the empty line, CRLF line endings
};

void apply(Draft& draft, const SetRecipient& action);  // recipients = {address}; To: address
void apply(Draft& draft, const SetSender& action);     // sender = address; From: [name] address
void apply(Draft& draft, const AddHeader& action);
void apply(Draft& draft, const RemoveHeader& action);  // every field of that name

// The header-section operations the actions use.
std::string remove_fields(std::string_view header_section, std::string_view name);
std::string add_field(std::string_view header_section, std::string_view name, std::string_view value);
std::string replace_field(std::string_view header_section, std::string_view name, std::string_view value);

}  // namespace postern::handlers
