// Share maps: mail to a mapped recipient is split into secret shares, and each share goes as a
// separate mail through its own upstream to one destination mailbox of the same person, so no
// single provider can read it. The maps live in PostgreSQL (migrations/0007_share_maps.sql);
// mailadmin changes them (each change audited in its own transaction, like the Store's), and
// the relay reads them all with all_share_maps(), keeps them in memory and reloads when
// kShareMapChannel notifies (a trigger notifies on every change, whoever makes it).
//
// What makes a map usable is share_map_problem(): at least two destinations, each on an upstream
// of its own, and a threshold from 2 to n (none for the privmail format). mailadmin refuses a
// value that is wrong in itself or against the map as it is (a second destination on an upstream
// the map uses, a threshold above the destinations it has, a threshold with privmail), and allows
// the states a map passes through while it is built or changed (one destination; a threshold left
// above n after `unshare`), which make it unusable until they are fixed.
//
// How the relay finds a recipient's map: ShareMapIndex, built with the relay's own sender policy.
// The recipient is stored as given (normalised, not keyed), and every key is computed where the
// policy is known: a lookup key stored by mailadmin would be wrong for a relay whose subaddress
// delimiter differs from mailadmin's default.
//
// Names passed in are already normalised (parse_address().str()); recipients and mailboxes are
// matched ignoring case. Failures: NotFound, AlreadyExists, InvalidInput, DatabaseUnavailable
// (errors.hpp).
#pragma once

#include "postern/schema/address.hpp"
#include "postern/schema/sender_rule.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

enum class ShareFormat { Postern, Privmail };

// "postern" or "privmail", as stored and as mailadmin writes it.
std::string_view share_format_name(ShareFormat format);
// The format of that name, ASCII case ignored; nullopt for any other word.
std::optional<ShareFormat> parse_share_format(std::string_view name);

struct ShareDestination {
  std::string mailbox;
  std::string upstream;  // an upstream's name in the relay's postern.yaml
};

struct ShareMap {
  std::string recipient;                 // as stored (normalised)
  std::optional<int> threshold;          // nullopt: n of n
  ShareFormat format = ShareFormat::Postern;
  std::vector<ShareDestination> destinations;              // in order: share index = position + 1
  std::map<std::string, std::string> envelope_from;        // upstream -> address
};

inline constexpr const char* kShareMapChannel = "postern_share_maps";

// n is at most 255: share indexes are the non-zero x-coordinates of GF(2^8).
inline constexpr std::size_t kMaxShareDestinations = 255;

// What makes a map usable; "" when usable, else the reason, one line fit for a 451 4.3.5 text
// and `mailadmin show share`: fewer than two destinations, more than 255, two destinations on the
// same upstream, a threshold outside 2..n, a threshold with the privmail format.
std::string share_map_problem(const ShareMap& map);
// The same, and every destination's upstream must be one of `known_upstreams` (the relay's
// postern.yaml); mailadmin cannot check that, the relay does.
std::string share_map_problem(const ShareMap& map, const std::vector<std::string>& known_upstreams);

// The key a recipient is looked up by: the address normalised as the grant check does (domain
// IDNA and lowercase, as parse_address() leaves it; the local part ASCII case-folded; the
// subaddress from policy.subaddress_delimiter on removed, for dot-string local parts), so
// bob+x@Proxy.Example finds bob@proxy.example's map. The local part is folded whatever
// policy.local_part_case_sensitive says, as routes do: a case variant must never escape its map
// and go out in clear.
std::string share_map_key(const Address& address, const SenderPolicy& policy);

// Every map by recipient, for the relay. find() answers as the grant check matches an address
// grant: the map of the recipient itself (case folded), else the map of its base address
// (share_map_key with the relay's policy), so with maps for both bob@d and bob+news@d,
// bob+news@d takes its own and bob+x@d takes bob@d's.
class ShareMapIndex {
 public:
  ShareMapIndex() = default;
  ShareMapIndex(std::vector<ShareMap> maps, const SenderPolicy& policy);

  // nullptr when no map applies to this recipient.
  const ShareMap* find(const Address& recipient) const;
  const std::vector<ShareMap>& maps() const { return maps_; }

 private:
  std::vector<ShareMap> maps_;
  SenderPolicy policy_;
  std::unordered_map<std::string, std::size_t> by_recipient_;  // folded, subaddress kept
};

// An upstream name as postern.yaml allows it: letters, digits, '.', '_' and '-'. Returns the
// name, or the error `invalid upstream name "x": ...`.
Parsed<std::string> parse_upstream_name(std::string_view name);

// ---- PostgreSQL ----------------------------------------------------------------------------

// For the relay: every map, sorted by recipient, from one snapshot.
std::vector<ShareMap> all_share_maps(pqxx::connection_base& db);

struct ShareMapDetails {
  ShareMap map;
  std::string created_at;  // UTC, "YYYY-MM-DD HH:MM:SS"
  std::string updated_at;  // the last change to the map, its destinations or envelope senders
};

// nullopt when there is no map for this recipient.
std::optional<ShareMapDetails> find_share_map(pqxx::connection_base& db, const std::string& recipient);

// A new map without destinations (not usable until it has two). AlreadyExists when the
// recipient (in any case) has one.
void add_share_map(pqxx::connection_base& db, const std::string& recipient, const std::string& actor);
// Deletes the map with its destinations and envelope senders.
void delete_share_map(pqxx::connection_base& db, const std::string& recipient, const std::string& actor);

// Appends a destination and returns its share index (the map's destination count after it).
// AlreadyExists when the mailbox is a destination of the map already, or the upstream carries
// another of its destinations; InvalidInput for the recipient itself as a destination, a 256th
// destination or a malformed upstream name.
std::size_t add_share_destination(pqxx::connection_base& db, const std::string& recipient,
                           const ShareDestination& destination, const std::string& actor);
// Removes a destination; the later ones move up an index. NotFound when the mailbox is not one.
void remove_share_destination(pqxx::connection_base& db, const std::string& recipient,
                              const std::string& mailbox, const std::string& actor);

// k of n, or nullopt for n of n. InvalidInput for k outside 2..n (n: the destinations the map
// has now) or any k on a privmail map.
void set_share_threshold(pqxx::connection_base& db, const std::string& recipient,
                         std::optional<int> threshold, const std::string& actor);
// InvalidInput for privmail on a map with a threshold.
void set_share_format(pqxx::connection_base& db, const std::string& recipient, ShareFormat format,
                      const std::string& actor);
// The envelope sender of the map's shares on `upstream`, or nullopt to go back to the message's
// own. The upstream need not carry a destination yet. NotFound when clearing one that is not set.
void set_share_envelope_from(pqxx::connection_base& db, const std::string& recipient,
                             const std::string& upstream, const std::optional<std::string>& address,
                             const std::string& actor);

}  // namespace postern::schema
