// What makes a share map usable, how the relay finds a recipient's map, and the names the maps
// are written with: pure functions, no database. See share_maps.hpp.
#include "postern/schema/share_maps.hpp"

#include "postern/schema/printable.hpp"

#include <algorithm>

namespace postern::schema {
namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
  return out;
}

std::string destinations(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " destination" : " destinations");
}

// The key of a stored recipient: folded, its subaddress kept (it names that map exactly). One
// that does not parse (written by hand) is folded as written.
std::string stored_key(const std::string& recipient) {
  const auto parsed = parse_address(recipient);
  return parsed ? share_map_key(*parsed, SenderPolicy{}) : ascii_lower(recipient);
}

}  // namespace

std::string_view share_format_name(ShareFormat format) {
  return format == ShareFormat::Privmail ? "privmail" : "postern";
}

std::optional<ShareFormat> parse_share_format(std::string_view name) {
  const std::string folded = ascii_lower(name);
  if (folded == "postern") return ShareFormat::Postern;
  if (folded == "privmail") return ShareFormat::Privmail;
  return std::nullopt;
}

std::string share_map_problem(const ShareMap& map) {
  const std::size_t n = map.destinations.size();
  if (n == 0) return "no destinations yet, at least two are needed";
  if (n == 1) return "only 1 destination, at least two are needed";
  if (n > kMaxShareDestinations) {
    return destinations(n) + ", at most " + std::to_string(kMaxShareDestinations) + " are possible";
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      if (map.destinations[i].upstream == map.destinations[j].upstream) {
        return "destinations " + std::to_string(i + 1) + " and " + std::to_string(j + 1) +
               " both go through upstream " + map.destinations[i].upstream +
               ", each needs an upstream of its own";
      }
    }
  }
  if (!map.threshold) return "";
  const int k = *map.threshold;
  if (map.format == ShareFormat::Privmail) {
    return "threshold " + std::to_string(k) + " set, but privmail shares are always n of n";
  }
  if (k < 2) return "threshold " + std::to_string(k) + " is below 2";
  if (static_cast<std::size_t>(k) > n) {
    return "threshold " + std::to_string(k) + " is more than the " + destinations(n);
  }
  return "";
}

std::string share_map_problem(const ShareMap& map, const std::vector<std::string>& known_upstreams) {
  if (auto problem = share_map_problem(map); !problem.empty()) return problem;
  for (std::size_t i = 0; i < map.destinations.size(); ++i) {
    const auto& upstream = map.destinations[i].upstream;
    if (std::find(known_upstreams.begin(), known_upstreams.end(), upstream) == known_upstreams.end()) {
      return "destination " + std::to_string(i + 1) + " goes through upstream " + upstream +
             ", which the relay's configuration does not name";
    }
  }
  return "";
}

std::string share_map_key(const Address& address, const SenderPolicy& policy) {
  std::string_view local = address.local;
  // As the sender rule: "a+tag" is mailbox "a", never inside a quoted local part, and never
  // when the delimiter leads (the base would be empty).
  const auto& delimiter = policy.subaddress_delimiter;
  if (!delimiter.empty() && !local.empty() && local.front() != '"') {
    const auto cut = local.find(delimiter);
    if (cut != std::string_view::npos && cut != 0) local = local.substr(0, cut);
  }
  return ascii_lower(local) + "@" + ascii_lower(address.domain);
}

ShareMapIndex::ShareMapIndex(std::vector<ShareMap> maps, const SenderPolicy& policy)
    : maps_(std::move(maps)), policy_(policy) {
  // The database keeps recipients unique ignoring case; of a hand-built duplicate, the first wins.
  for (std::size_t i = 0; i < maps_.size(); ++i) by_recipient_.emplace(stored_key(maps_[i].recipient), i);
}

const ShareMap* ShareMapIndex::find(const Address& recipient) const {
  if (recipient.local.empty() || recipient.domain.empty()) return nullptr;
  const std::string exact = share_map_key(recipient, SenderPolicy{});
  if (auto it = by_recipient_.find(exact); it != by_recipient_.end()) return &maps_[it->second];
  const std::string base = share_map_key(recipient, policy_);
  if (base == exact) return nullptr;
  if (auto it = by_recipient_.find(base); it != by_recipient_.end()) return &maps_[it->second];
  return nullptr;
}

Parsed<std::string> parse_upstream_name(std::string_view name) {
  const auto fail = [name](std::string_view reason) {
    Parsed<std::string> out;
    out.error = "invalid upstream name \"" + escape_unprintable(name.substr(0, 100)) +
                (name.size() > 100 ? "..." : "") + "\": " + std::string(reason);
    return out;
  };
  if (name.empty()) return fail("empty");
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
  if (!plain) return fail("expected letters, digits, '.', '_' or '-'");
  return {std::string(name), ""};
}

}  // namespace postern::schema
