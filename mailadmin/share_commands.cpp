// The share map commands. See share_commands.hpp.
#include "share_commands.hpp"

#include "exit_codes.hpp"

#include "postern/schema/address.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/printable.hpp"
#include "postern/schema/share_maps.hpp"

#include <charconv>
#include <iostream>

namespace postern::mailadmin {
namespace {

namespace schema = postern::schema;

template <class T>
T strict(const schema::Parsed<T>& parsed) {
  if (!parsed) throw schema::InvalidInput(parsed.error);
  return *parsed;
}

std::string address(const std::string& text) { return strict(schema::parse_address(text)).str(); }
std::string upstream_name(const std::string& text) { return strict(schema::parse_upstream_name(text)); }

bool is_word(const std::string& text, std::string_view word) {
  if (text.size() != word.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    if (c != word[i]) return false;
  }
  return true;
}

// A refused word echoed in an error: no control sequence reaches the terminal.
std::string shown(const std::string& text) { return schema::escape_unprintable(text); }

void keyword(const std::string& given, const char* expected, const char* usage) {
  if (given != expected) throw UsageError(std::string("usage: ") + usage);
}

// "all" (n of n) or a whole number; its range is the schema's to check, against the map.
std::optional<int> threshold(const std::string& text) {
  if (is_word(text, "all")) return std::nullopt;
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) {
    throw schema::InvalidInput("invalid threshold \"" + shown(text) + "\": expected a number from 2 to " +
                               std::to_string(schema::kMaxShareDestinations) + ", or all");
  }
  return value;
}

void confirm(const ShareCommandContext& context, const std::string& what) {
  if (context.verbose) std::cout << what << '\n';
}

}  // namespace

int add_share(const ShareCommandContext& context, const std::string& recipient) {
  const std::string r = address(recipient);
  schema::add_share_map(context.db(), r, context.actor);
  confirm(context, "share map " + r + " added (not usable until it has two destinations)");
  return kOk;
}

int del_share(const ShareCommandContext& context, const std::string& recipient) {
  const std::string r = address(recipient);
  schema::delete_share_map(context.db(), r, context.actor);
  confirm(context, "share map " + r + " deleted");
  return kOk;
}

int list_shares(const ShareCommandContext& context) {
  print_share_maps(std::cout, schema::all_share_maps(context.db()), context.format);
  return kOk;
}

int show_share(const ShareCommandContext& context, const std::string& recipient) {
  const std::string r = address(recipient);
  const auto details = schema::find_share_map(context.db(), r);
  if (!details) throw schema::NotFound("share map " + r + " does not exist");
  print_share_map(std::cout, *details, context.format);
  return kOk;
}

int share_to(const ShareCommandContext& context, const std::string& recipient, const std::string& to,
             const std::string& mailbox, const std::string& via, const std::string& upstream) {
  keyword(to, "to", kShareUsage);
  keyword(via, "via", kShareUsage);
  const std::string r = address(recipient);
  const schema::ShareDestination destination{address(mailbox), upstream_name(upstream)};
  const std::size_t index = schema::add_share_destination(context.db(), r, destination, context.actor);
  confirm(context, "share " + std::to_string(index) + " of " + r + " goes to " + destination.mailbox +
                       " via " + destination.upstream);
  return kOk;
}

int unshare(const ShareCommandContext& context, const std::string& recipient, const std::string& to,
            const std::string& mailbox) {
  keyword(to, "to", kUnshareUsage);
  const std::string r = address(recipient);
  const std::string m = address(mailbox);
  schema::remove_share_destination(context.db(), r, m, context.actor);
  confirm(context, m + " is no longer a destination of " + r);
  return kOk;
}

int set_share_threshold(const ShareCommandContext& context, const std::string& recipient,
                        const std::string& value) {
  const std::string r = address(recipient);
  const auto k = threshold(value);
  schema::set_share_threshold(context.db(), r, k, context.actor);
  confirm(context, "share map " + r + " needs " + (k ? std::to_string(*k) + " shares" : std::string("all shares")) +
                       " to combine");
  return kOk;
}

int set_share_format(const ShareCommandContext& context, const std::string& recipient,
                     const std::string& value) {
  const std::string r = address(recipient);
  const auto format = schema::parse_share_format(value);
  if (!format) throw schema::InvalidInput("invalid format \"" + shown(value) + "\": expected postern or privmail");
  schema::set_share_format(context.db(), r, *format, context.actor);
  confirm(context, "share map " + r + " sends the " + std::string(schema::share_format_name(*format)) + " format");
  return kOk;
}

int set_share_envelope_from(const ShareCommandContext& context, const std::string& recipient,
                            const std::string& envelope_from, const std::string& via,
                            const std::string& upstream) {
  keyword(via, "via", kSetShareEnvelopeFromUsage);
  const std::string r = address(recipient);
  const std::optional<std::string> from =
      is_word(envelope_from, "none") ? std::nullopt : std::optional<std::string>(address(envelope_from));
  const std::string name = upstream_name(upstream);
  schema::set_share_envelope_from(context.db(), r, name, from, context.actor);
  confirm(context, "shares of " + r + " via " + name + " are sent from " +
                       (from ? *from : std::string("the message's own sender")));
  return kOk;
}

}  // namespace postern::mailadmin
