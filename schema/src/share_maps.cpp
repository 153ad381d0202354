// Share maps in PostgreSQL: the relay's read of every map and mailadmin's changes, each change
// one transaction with its audit row. Prepared statements only. See share_maps.hpp.
#include "postern/schema/share_maps.hpp"

#include "audit.hpp"
#include "guarded.hpp"
#include "statements.hpp"
#include "postern/schema/errors.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cstdint>
#include <unordered_map>

namespace postern::schema {
namespace {

constexpr Statement kStatements[] = {
    {"share_maps_all", "SELECT id, recipient, threshold, format FROM postern_share_maps"},
    {"share_destinations_all",
     "SELECT map_id, mailbox, upstream FROM postern_share_destinations ORDER BY map_id, id"},
    {"share_envelope_from_all", "SELECT map_id, upstream, address FROM postern_share_envelope_from"},

    {"share_map_find",
     "SELECT id, recipient, threshold, format, " POSTERN_TS("created_at") ", " POSTERN_TS("updated_at")
     " FROM postern_share_maps WHERE lower(recipient) = lower($1)"},
    // Changes lock the map's row first, so two mailadmins never both pass a check on one map.
    {"share_map_lock",
     "SELECT id, recipient, threshold, format FROM postern_share_maps "
     "WHERE lower(recipient) = lower($1) FOR UPDATE"},
    {"share_map_destinations",
     "SELECT mailbox, upstream FROM postern_share_destinations WHERE map_id = $1 ORDER BY id"},
    {"share_map_envelope_from",
     "SELECT upstream, address FROM postern_share_envelope_from WHERE map_id = $1"},

    {"share_map_existing", "SELECT recipient FROM postern_share_maps WHERE lower(recipient) = lower($1)"},
    {"share_map_add", "INSERT INTO postern_share_maps (recipient) VALUES ($1)"},
    {"share_map_delete",
     "DELETE FROM postern_share_maps WHERE lower(recipient) = lower($1) RETURNING recipient"},
    {"share_map_touch", "UPDATE postern_share_maps SET updated_at = now() WHERE id = $1"},
    // $2 = 0: no threshold, n of n.
    {"share_map_set_threshold",
     "UPDATE postern_share_maps SET threshold = NULLIF($2::integer, 0), updated_at = now() WHERE id = $1"},
    {"share_map_set_format",
     "UPDATE postern_share_maps SET format = $2, updated_at = now() WHERE id = $1"},

    {"share_destination_add",
     "INSERT INTO postern_share_destinations (map_id, mailbox, upstream) VALUES ($1, $2, $3)"},
    {"share_destination_remove",
     "DELETE FROM postern_share_destinations WHERE map_id = $1 AND lower(mailbox) = lower($2) "
     "RETURNING mailbox, upstream"},

    {"share_envelope_from_set",
     "INSERT INTO postern_share_envelope_from (map_id, upstream, address) VALUES ($1, $2, $3) "
     "ON CONFLICT (map_id, upstream) DO UPDATE SET address = EXCLUDED.address"},
    {"share_envelope_from_clear",
     "DELETE FROM postern_share_envelope_from WHERE map_id = $1 AND upstream = $2 RETURNING address"},
};


// Reads that must see one state of the maps: never a map with half of its destinations.
using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

void prepare_statements(pqxx::connection_base& db) { prepare_all(db, kStatements); }

ShareFormat format_of(const pqxx::field& field) {
  return parse_share_format(field.as<std::string>()).value_or(ShareFormat::Postern);
}

std::optional<int> threshold_of(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<int>();
}

void load_parts(pqxx::transaction_base& tx, std::int64_t id, ShareMap& map) {
  for (const auto& row : tx.exec_prepared("share_map_destinations", id)) {
    map.destinations.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  }
  for (const auto& row : tx.exec_prepared("share_map_envelope_from", id)) {
    map.envelope_from[row[0].as<std::string>()] = row[1].as<std::string>();
  }
}

[[noreturn]] void no_map(const std::string& recipient) {
  throw NotFound("share map " + recipient + " does not exist");
}

// The map a change applies to, locked until the change commits: its id and its settings as they
// are now, destinations and envelope senders included.
struct Locked {
  std::int64_t id;
  ShareMap map;
};

Locked lock_map(pqxx::transaction_base& tx, const std::string& recipient) {
  const auto rows = tx.exec_prepared("share_map_lock", recipient);
  if (rows.empty()) no_map(recipient);
  Locked locked{rows[0][0].as<std::int64_t>(), {}};
  locked.map.recipient = rows[0][1].as<std::string>();
  locked.map.threshold = threshold_of(rows[0][2]);
  locked.map.format = format_of(rows[0][3]);
  load_parts(tx, locked.id, locked.map);
  return locked;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// As the unique indexes compare them (lower()), for ASCII; beyond it the index has the last word.
bool same_mailbox(const std::string& a, const std::string& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string checked_upstream(const std::string& upstream) {
  const auto parsed = parse_upstream_name(upstream);
  if (!parsed) throw InvalidInput(parsed.error);
  return *parsed;
}

// One change to an existing map: lock it, change it, audit, commit.
template <class Change>
void change_map(pqxx::connection_base& db, const std::string& recipient, Change&& change) {
  prepare_statements(db);
  guarded([&] {
    pqxx::work tx{db};
    change(tx, lock_map(tx, recipient));
    tx.commit();
  });
}

}  // namespace

std::vector<ShareMap> all_share_maps(pqxx::connection_base& db) {
  prepare_statements(db);
  return guarded([&] {
    Snapshot tx{db};
    std::vector<ShareMap> maps;
    std::unordered_map<std::int64_t, std::size_t> by_id;
    for (const auto& row : tx.exec_prepared("share_maps_all")) {
      by_id[row[0].as<std::int64_t>()] = maps.size();
      ShareMap map;
      map.recipient = row[1].as<std::string>();
      map.threshold = threshold_of(row[2]);
      map.format = format_of(row[3]);
      maps.push_back(std::move(map));
    }
    for (const auto& row : tx.exec_prepared("share_destinations_all")) {
      const auto it = by_id.find(row[0].as<std::int64_t>());
      if (it != by_id.end()) maps[it->second].destinations.push_back({row[1].as<std::string>(), row[2].as<std::string>()});
    }
    for (const auto& row : tx.exec_prepared("share_envelope_from_all")) {
      const auto it = by_id.find(row[0].as<std::int64_t>());
      if (it != by_id.end()) maps[it->second].envelope_from[row[1].as<std::string>()] = row[2].as<std::string>();
    }
    tx.commit();
    // Byte order, whatever the database's collation.
    std::sort(maps.begin(), maps.end(), [](const ShareMap& a, const ShareMap& b) { return a.recipient < b.recipient; });
    return maps;
  });
}

std::optional<ShareMapDetails> find_share_map(pqxx::connection_base& db, const std::string& recipient) {
  prepare_statements(db);
  return guarded([&]() -> std::optional<ShareMapDetails> {
    Snapshot tx{db};
    const auto rows = tx.exec_prepared("share_map_find", recipient);
    if (rows.empty()) return std::nullopt;
    ShareMapDetails details;
    details.map.recipient = rows[0][1].as<std::string>();
    details.map.threshold = threshold_of(rows[0][2]);
    details.map.format = format_of(rows[0][3]);
    details.created_at = rows[0][4].as<std::string>();
    details.updated_at = rows[0][5].as<std::string>();
    load_parts(tx, rows[0][0].as<std::int64_t>(), details.map);
    tx.commit();
    return details;
  });
}

void add_share_map(pqxx::connection_base& db, const std::string& recipient, const std::string& actor) {
  prepare_statements(db);
  guarded([&] {
    pqxx::work tx{db};
    // Named as stored: a case variant of an existing map is that map.
    if (const auto rows = tx.exec_prepared("share_map_existing", recipient); !rows.empty()) {
      throw AlreadyExists("share map " + rows[0][0].as<std::string>() + " already exists");
    }
    try {
      tx.exec_prepared("share_map_add", recipient);
    } catch (const pqxx::unique_violation&) {  // added by another mailadmin meanwhile
      throw AlreadyExists("share map " + recipient + " already exists");
    }
    record_audit(tx, actor, "add share", recipient);
    tx.commit();
  });
}

void delete_share_map(pqxx::connection_base& db, const std::string& recipient, const std::string& actor) {
  prepare_statements(db);
  guarded([&] {
    pqxx::work tx{db};
    const auto rows = tx.exec_prepared("share_map_delete", recipient);
    if (rows.empty()) no_map(recipient);
    record_audit(tx, actor, "del share", rows[0][0].as<std::string>());
    tx.commit();
  });
}

std::size_t add_share_destination(pqxx::connection_base& db, const std::string& recipient,
                                  const ShareDestination& destination, const std::string& actor) {
  const std::string upstream = checked_upstream(destination.upstream);
  std::size_t index = 0;
  change_map(db, recipient, [&](pqxx::work& tx, const Locked& locked) {
    const ShareMap& map = locked.map;
    if (same_mailbox(destination.mailbox, map.recipient)) {
      throw InvalidInput("share map " + map.recipient + " cannot send a share to its own recipient");
    }
    for (std::size_t i = 0; i < map.destinations.size(); ++i) {
      const auto& existing = map.destinations[i];
      if (same_mailbox(existing.mailbox, destination.mailbox)) {
        throw AlreadyExists(existing.mailbox + " is already destination " + std::to_string(i + 1) +
                            " of share map " + map.recipient);
      }
      if (existing.upstream == upstream) {
        throw AlreadyExists("upstream " + upstream + " already carries destination " + std::to_string(i + 1) +
                            " (" + existing.mailbox + ") of share map " + map.recipient +
                            ": each destination needs an upstream of its own");
      }
    }
    if (map.destinations.size() >= kMaxShareDestinations) {
      throw InvalidInput("share map " + map.recipient + " has " + std::to_string(kMaxShareDestinations) +
                         " destinations, the most it can have");
    }
    try {
      tx.exec_prepared("share_destination_add", locked.id, destination.mailbox, upstream);
    } catch (const pqxx::unique_violation&) {  // case variants beyond ASCII, as lower() folds them
      throw AlreadyExists(destination.mailbox + " is already a destination of share map " + map.recipient);
    }
    tx.exec_prepared("share_map_touch", locked.id);
    record_audit(tx, actor, "share", map.recipient, "to " + destination.mailbox + " via " + upstream);
    index = map.destinations.size() + 1;
  });
  return index;
}

void remove_share_destination(pqxx::connection_base& db, const std::string& recipient,
                              const std::string& mailbox, const std::string& actor) {
  change_map(db, recipient, [&](pqxx::work& tx, const Locked& locked) {
    const auto rows = tx.exec_prepared("share_destination_remove", locked.id, mailbox);
    if (rows.empty()) {
      throw NotFound(mailbox + " is not a destination of share map " + locked.map.recipient);
    }
    tx.exec_prepared("share_map_touch", locked.id);
    record_audit(tx, actor, "unshare", locked.map.recipient,
                 "to " + rows[0][0].as<std::string>() + " via " + rows[0][1].as<std::string>());
  });
}

void set_share_threshold(pqxx::connection_base& db, const std::string& recipient,
                         std::optional<int> threshold, const std::string& actor) {
  change_map(db, recipient, [&](pqxx::work& tx, const Locked& locked) {
    const ShareMap& map = locked.map;
    if (threshold) {
      const int k = *threshold;
      const std::size_t n = map.destinations.size();
      if (map.format == ShareFormat::Privmail) {
        throw InvalidInput("share map " + map.recipient +
                           " has the privmail format, whose shares are always n of n (set its format "
                           "to postern first)");
      }
      if (k < 2) throw InvalidInput("threshold " + std::to_string(k) + " is below 2");
      if (static_cast<std::size_t>(k) > n) {
        throw InvalidInput("threshold " + std::to_string(k) + " is more than the " + std::to_string(n) +
                           (n == 1 ? " destination" : " destinations") + " of share map " + map.recipient);
      }
    }
    tx.exec_prepared("share_map_set_threshold", locked.id, threshold.value_or(0));
    record_audit(tx, actor, "set share", map.recipient,
                 "threshold " + (threshold ? std::to_string(*threshold) : std::string("all")));
  });
}

void set_share_format(pqxx::connection_base& db, const std::string& recipient, ShareFormat format,
                      const std::string& actor) {
  change_map(db, recipient, [&](pqxx::work& tx, const Locked& locked) {
    const ShareMap& map = locked.map;
    if (format == ShareFormat::Privmail && map.threshold) {
      throw InvalidInput("share map " + map.recipient + " has threshold " + std::to_string(*map.threshold) +
                         ", but privmail shares are always n of n (set its threshold to all first)");
    }
    const std::string name{share_format_name(format)};
    tx.exec_prepared("share_map_set_format", locked.id, name);
    record_audit(tx, actor, "set share", map.recipient, "format " + name);
  });
}

void set_share_envelope_from(pqxx::connection_base& db, const std::string& recipient,
                             const std::string& upstream, const std::optional<std::string>& address,
                             const std::string& actor) {
  const std::string name = checked_upstream(upstream);
  change_map(db, recipient, [&](pqxx::work& tx, const Locked& locked) {
    if (address) {
      tx.exec_prepared("share_envelope_from_set", locked.id, name, *address);
    } else if (tx.exec_prepared("share_envelope_from_clear", locked.id, name).empty()) {
      throw NotFound("share map " + locked.map.recipient + " has no envelope-from for upstream " + name);
    }
    tx.exec_prepared("share_map_touch", locked.id);
    record_audit(tx, actor, "set share", locked.map.recipient,
                 "envelope-from " + address.value_or("none") + " via " + name);
  });
}

}  // namespace postern::schema
