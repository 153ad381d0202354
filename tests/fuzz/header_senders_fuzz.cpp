// The header section of a submitted message, as a hostile client may write it: drives the
// header block splitter, the From:/Sender: address-list parser, RFC 2047 decoding and the
// display-name judgement, and the whole header From policy, and checks what they promise.
//
// Input: the message (its header section and whatever follows), given as is to the filters.
// The grants are fixed: address alice@example.com, domain example.org, subaddress "+".
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/filters/address_list.hpp"
#include "server/filters/display_name.hpp"
#include "server/filters/encoded_words.hpp"
#include "server/filters/header_block.hpp"
#include "server/filters/header_senders.hpp"

namespace {

using namespace postern::filters;

const postern::schema::UserGrants kGrants{{"alice@example.com"}, {"example.org"}};
const postern::schema::SenderPolicy kPolicy{false, "+"};

void check(bool invariant) {
  if (!invariant) std::abort();
}

// A view that lies inside `outer` (an empty one may point anywhere).
bool inside(std::string_view view, std::string_view outer) {
  return view.empty() ||
         (view.data() >= outer.data() && view.data() + view.size() <= outer.data() + outer.size());
}

void check_block(const HeaderBlock& block, std::string_view message) {
  check(block.header_end <= block.body_begin && block.body_begin <= message.size());
  std::size_t previous_end = 0;
  for (const HeaderField& field : block.fields) {
    check(previous_end <= field.begin && field.begin < field.end && field.end <= block.header_end);
    check(inside(field.name, message) && inside(field.value, message));
    check(field.name.find_first_of(":\r\n ") == std::string_view::npos);
    previous_end = field.end;
  }
}

void check_list(const AddressList& list, std::string_view value) {
  if (!list.error.empty()) {
    check(list.addr_specs.empty() && list.display_names.empty() && list.comments.empty() && !list.has_group);
    check(list.error.find_first_of("\r\n") == std::string::npos);
    return;
  }
  check(!list.addr_specs.empty() || list.has_group);
  for (const std::string& spec : list.addr_specs) {
    check(spec.find('@') != std::string::npos && spec.size() <= value.size());
  }
  for (const auto* texts : {&list.display_names, &list.comments}) {
    for (const std::string& text : *texts) {
      check(text.size() <= 2 * value.size());  // a space may join the words of a phrase
      check(text.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
      // RFC 2047 decoding never grows text by more than UTF-8 does (3 octets for 1).
      check(decode_encoded_words(text).size() <= 3 * text.size());
      display_name_looks_like_address(text, kGrants, kPolicy);
    }
  }
}

void check_policy(std::string_view message) {
  const auto strict = check_header_senders(message, kGrants, kPolicy, AddressLikeDisplayNames::Refuse);
  const auto lenient = check_header_senders(message, kGrants, kPolicy, AddressLikeDisplayNames::Allow);
  for (const auto* result : {&strict, &lenient}) {
    check(result->allowed == result->reason.empty());
    check(result->reason.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
  }
  // The display-name check only ever refuses more, and says so in its own words.
  if (strict.allowed) check(lenient.allowed);
  if (strict.reason != lenient.reason) check(strict.reason.ends_with(" looks like an address"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  const HeaderBlock block = parse_header_block(message);
  check_block(block, message);
  for (const HeaderField& field : block.fields) {
    const std::string value = unfold(field.value);
    check(value.size() <= field.value.size());
    check_list(parse_address_list(value), value);
  }
  check(decode_encoded_words(message).size() <= 3 * message.size());
  check_policy(message);
  return 0;
}
