// A message as a hostile client may write it, through the handlers' pure parts: the built-in
// edits of the header section (add, remove, replace a field; set_recipient, set_sender), the
// `when` conditions with a header pattern, and the check of a command's rewritten output. Checks
// what they promise: a removed field is gone, an added one is there once, the body is untouched,
// and a prepared rewrite has CRLF line endings only, no NUL and no line over 998 octets, whether
// it comes whole or in pieces.
//
// Input: the message (CRLF or not, whatever the bytes), used as the header section as is.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/filters/header_block.hpp"
#include "server/handlers/command_verdict.hpp"
#include "server/handlers/conditions.hpp"
#include "server/handlers/edits.hpp"

namespace {

using namespace postern::handlers;

void check(bool invariant) {
  if (!invariant) std::abort();
}

std::size_t fields_named(std::string_view header_section, std::string_view name) {
  return postern::filters::count_fields(postern::filters::parse_header_block(header_section), name);
}

// The part after the header section: edits never touch it.
std::string_view after_header(std::string_view message) {
  return message.substr(postern::filters::parse_header_block(message).header_end);
}

// The output in two pieces, cut at `cut`, is prepared as the whole is.
void check_pieces(const std::string& original, const std::string& whole, bool refused, std::size_t cut) {
  RewrittenMessage rewritten{1 << 20};
  std::string out;
  const bool ok = rewritten.add(std::string_view(original).substr(0, cut), out) &&
                  rewritten.add(std::string_view(original).substr(cut), out) && rewritten.finish(out);
  check(ok == !refused);
  if (ok) check(out == whole);
}

void check_rewrite(std::string text) {
  const std::string original = text;
  const bool refused = !prepare_rewritten_message(text, 1 << 20).empty();
  check_pieces(original, text, refused, original.empty() ? 0 : static_cast<unsigned char>(original[0]) % original.size());
  if (refused) {
    check(text == original);  // refused: left alone
    return;
  }
  check(text.ends_with("\r\n"));
  std::size_t line = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    check(text[i] != '\0');
    if (text[i] == '\r') {
      check(i + 1 < text.size() && text[i + 1] == '\n');
    } else if (text[i] == '\n') {
      check(i > 0 && text[i - 1] == '\r');
      line = 0;
    } else {
      check(++line <= 998);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string message(reinterpret_cast<const char*>(data), size);

  const std::string removed = remove_fields(message, "X-Secret");
  check(fields_named(removed, "X-Secret") == 0);
  check(after_header(removed) == after_header(message));

  const std::string added = add_field(removed, "X-Tag", "tagged");
  check(fields_named(added, "X-Tag") == fields_named(removed, "X-Tag") + 1);

  const std::string replaced = replace_field(message, "To", "archive@example.org");
  check(fields_named(replaced, "To") == 1);
  check(after_header(replaced) == after_header(message));

  Draft draft{"alice@example.com", {"bob@example.net"}, message};
  apply(draft, SetRecipient{"archive@example.org"});
  apply(draft, SetSender{"noreply@example.org", "Robot \"x\"", false});
  check(draft.recipients.size() == 1 && fields_named(draft.header_section, "From") == 1);

  static const Conditions when{"", "example.com", "", "", "example.net",
                               HeaderMatch{"Subject", HeaderPattern("(?i)^(re: )*voice.*[0-9]+$")}, 10, 1 << 20};
  const std::vector<std::string> recipients{"bob@example.net"};
  (void)conditions_hold(when, MessageFacts{"alice@example.com", recipients, "alice", message, message.size(), "+"});

  check_rewrite(message);
  return 0;
}
