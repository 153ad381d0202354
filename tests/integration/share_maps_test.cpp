// Share maps: the rules (share_map_problem, share_map_key, the relay's index) and the storage
// against a real PostgreSQL: every change, its audit row, its refusals, the NOTIFY a relay
// listens for, and the relay role's read of all maps.
#include "postern/schema/address.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/migrations.hpp"
#include "postern/schema/relay_role.hpp"
#include "postern/schema/share_maps.hpp"
#include "postern/schema/store.hpp"
#include "support/notification_recorder.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <unistd.h>

#include <chrono>
#include <utility>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

Address address(const std::string& text) {
  const auto parsed = parse_address(text);
  EXPECT_TRUE(parsed) << parsed.error;
  return *parsed;
}

ShareMap map_of(std::vector<ShareDestination> destinations, std::optional<int> threshold = std::nullopt,
                ShareFormat format = ShareFormat::Postern) {
  ShareMap map;
  map.recipient = "bob@proxy.example";
  map.destinations = std::move(destinations);
  map.threshold = threshold;
  map.format = format;
  return map;
}

const ShareDestination kA{"bob@mail-a.example", "provider-a"};
const ShareDestination kB{"bob@mail-b.example", "provider-b"};
const ShareDestination kC{"bob@mail-c.example", "provider-c"};

// A migrated database and its Store (for the audit log); changes go through store.connection().
Store migrated_store(const std::string& prefix) {
  Store store{PgCluster::instance().fresh_database(prefix)};
  migrate(store.connection());
  return store;
}

// The last audit row, as "actor|action|subject|detail".
std::string last_audit(Store& store) {
  const auto entries = store.audit("");
  if (entries.empty()) return "";
  const auto& e = entries.back();
  return e.actor + "|" + e.action + "|" + e.subject + "|" + e.detail;
}

// The message of what `change` throws; "" when it throws nothing.
template <class Change>
std::string failure(Change&& change) {
  try {
    change();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Roles belong to the cluster, which other test binaries share: a name of this process's own.
std::string as_role(const std::string& url, const std::string& role) {
  const auto user = url.find("://") + 3;
  return url.substr(0, user) + role + url.substr(url.find('@', user));
}

}  // namespace

// ---- the rules -----------------------------------------------------------------------------

TEST(ShareMapRules, TwoDestinationsOnDistinctUpstreamsAreUsable) {
  EXPECT_EQ(share_map_problem(map_of({kA, kB})), "");
  EXPECT_EQ(share_map_problem(map_of({kA, kB, kC}, 2)), "");
  EXPECT_EQ(share_map_problem(map_of({kA, kB, kC}, 3)), "");
  EXPECT_EQ(share_map_problem(map_of({kA, kB}, std::nullopt, ShareFormat::Privmail)), "");
}

TEST(ShareMapRules, SaysWhyAMapIsNotUsable) {
  EXPECT_EQ(share_map_problem(map_of({})), "no destinations yet, at least two are needed");
  EXPECT_EQ(share_map_problem(map_of({kA})), "only 1 destination, at least two are needed");
  EXPECT_EQ(share_map_problem(map_of({kA, kB, {"bob@mail-d.example", "provider-a"}})),
            "destinations 1 and 3 both go through upstream provider-a, each needs an upstream of its own");
  EXPECT_EQ(share_map_problem(map_of({kA, kB}, 3)), "threshold 3 is more than the 2 destinations");
  EXPECT_EQ(share_map_problem(map_of({kA, kB}, 1)), "threshold 1 is below 2");
  EXPECT_EQ(share_map_problem(map_of({kA, kB}, 2, ShareFormat::Privmail)),
            "threshold 2 set, but privmail shares are always n of n");
  std::vector<ShareDestination> many;
  for (int i = 0; i < 256; ++i) many.push_back({"d" + std::to_string(i) + "@x.example", "u" + std::to_string(i)});
  EXPECT_EQ(share_map_problem(map_of(many)), "256 destinations, at most 255 are possible");
  many.pop_back();
  EXPECT_EQ(share_map_problem(map_of(many)), "");
}

TEST(ShareMapRules, UpstreamsTheRelayDoesNotKnowMakeAMapUnusable) {
  const std::vector<std::string> known{"provider-a", "provider-b"};
  EXPECT_EQ(share_map_problem(map_of({kA, kB}), known), "");
  EXPECT_EQ(share_map_problem(map_of({kA, kC}), known),
            "destination 2 goes through upstream provider-c, which the relay's configuration does not name");
  // The map's own problems come first.
  EXPECT_EQ(share_map_problem(map_of({kC}), known), "only 1 destination, at least two are needed");
}

TEST(ShareMapRules, KeyIsTheAddressAsTheGrantCheckComparesIt) {
  const SenderPolicy plus{false, "+"};
  EXPECT_EQ(share_map_key(address("bob+x@Proxy.Example"), plus), "bob@proxy.example");
  EXPECT_EQ(share_map_key(address("BOB@proxy.example"), plus), "bob@proxy.example");
  EXPECT_EQ(share_map_key(address("bob@Bücher.example"), plus), "bob@xn--bcher-kva.example");
  EXPECT_EQ(share_map_key(address("bob+x+y@proxy.example"), plus), "bob@proxy.example");
  // Another delimiter, or none: "+" is then part of the mailbox.
  EXPECT_EQ(share_map_key(address("bob+x@proxy.example"), SenderPolicy{false, "-"}), "bob+x@proxy.example");
  EXPECT_EQ(share_map_key(address("bob-x@proxy.example"), SenderPolicy{false, "-"}), "bob@proxy.example");
  EXPECT_EQ(share_map_key(address("Bob+x@proxy.example"), SenderPolicy{}), "bob+x@proxy.example");
  // As the grant check: a leading delimiter and a quoted local part are left alone.
  EXPECT_EQ(share_map_key(address("+x@proxy.example"), plus), "+x@proxy.example");
  EXPECT_EQ(share_map_key(address("\"Bob+x\"@proxy.example"), plus), "\"bob+x\"@proxy.example");
  // Case is folded even where senders' local parts are case-sensitive: no variant escapes.
  EXPECT_EQ(share_map_key(address("BOB+x@proxy.example"), SenderPolicy{true, "+"}), "bob@proxy.example");
}

TEST(ShareMapRules, IndexFindsTheRecipientsOwnMapElseItsBaseAddresses) {
  ShareMap bob = map_of({kA, kB});
  ShareMap news = map_of({kA, kC});
  news.recipient = "bob+news@proxy.example";
  ShareMap carol = map_of({kB, kC});
  carol.recipient = "Carol@proxy.example";

  const ShareMapIndex plus({bob, news, carol}, SenderPolicy{false, "+"});
  const auto found = [&](const ShareMapIndex& index, const std::string& rcpt) -> std::string {
    const ShareMap* map = index.find(address(rcpt));
    return map ? map->recipient : "";
  };
  EXPECT_EQ(found(plus, "bob@proxy.example"), "bob@proxy.example");
  EXPECT_EQ(found(plus, "Bob@PROXY.example"), "bob@proxy.example");
  EXPECT_EQ(found(plus, "bob+x@proxy.example"), "bob@proxy.example");
  EXPECT_EQ(found(plus, "bob+news@proxy.example"), "bob+news@proxy.example");
  EXPECT_EQ(found(plus, "BOB+NEWS@proxy.example"), "bob+news@proxy.example");
  EXPECT_EQ(found(plus, "carol@proxy.example"), "Carol@proxy.example");
  EXPECT_EQ(found(plus, "carol+y@proxy.example"), "Carol@proxy.example");
  EXPECT_EQ(found(plus, "dave@proxy.example"), "");
  EXPECT_EQ(found(plus, "bob@other.example"), "");
  EXPECT_EQ(plus.maps().size(), 3u);

  // The relay's own delimiter decides, not the one mailadmin assumes.
  const ShareMapIndex dash({bob, news, carol}, SenderPolicy{false, "-"});
  EXPECT_EQ(found(dash, "bob+x@proxy.example"), "");
  EXPECT_EQ(found(dash, "bob-x@proxy.example"), "bob@proxy.example");
  EXPECT_EQ(found(dash, "bob+news@proxy.example"), "bob+news@proxy.example");
  const ShareMapIndex none({bob, news, carol}, SenderPolicy{});
  EXPECT_EQ(found(none, "bob+x@proxy.example"), "");
  EXPECT_EQ(found(none, "bob@proxy.example"), "bob@proxy.example");

  EXPECT_EQ(ShareMapIndex().find(address("bob@proxy.example")), nullptr);
  EXPECT_EQ(plus.find(Address{"", "proxy.example"}), nullptr);
}

TEST(ShareMapRules, FormatAndUpstreamNames) {
  EXPECT_EQ(share_format_name(ShareFormat::Postern), "postern");
  EXPECT_EQ(share_format_name(ShareFormat::Privmail), "privmail");
  EXPECT_EQ(parse_share_format("PrivMail"), ShareFormat::Privmail);
  EXPECT_EQ(parse_share_format("postern"), ShareFormat::Postern);
  EXPECT_EQ(parse_share_format("html"), std::nullopt);
  EXPECT_EQ(parse_share_format(""), std::nullopt);

  EXPECT_EQ(*parse_upstream_name("Provider_A.eu-1"), "Provider_A.eu-1");
  EXPECT_EQ(parse_upstream_name("").error, "invalid upstream name \"\": empty");
  EXPECT_EQ(parse_upstream_name("a b").error,
            "invalid upstream name \"a b\": expected letters, digits, '.', '_' or '-'");
  EXPECT_EQ(parse_upstream_name("a\x1b[31m").error,
            "invalid upstream name \"a\\x1b[31m\": expected letters, digits, '.', '_' or '-'");
}

// ---- PostgreSQL ----------------------------------------------------------------------------

TEST(ShareMaps, AreBuiltDestinationByDestinationAndReadInOrder) {
  Store store = migrated_store("share_build");
  auto& db = store.connection();
  EXPECT_TRUE(all_share_maps(db).empty());
  add_share_map(db, "bob@proxy.example", "ops");
  EXPECT_EQ(last_audit(store), "ops|add share|bob@proxy.example|");

  EXPECT_EQ(add_share_destination(db, "bob@proxy.example", kC, "ops"), 1u);
  EXPECT_EQ(last_audit(store), "ops|share|bob@proxy.example|to bob@mail-c.example via provider-c");
  EXPECT_EQ(add_share_destination(db, "BOB@proxy.example", kA, "ops"), 2u);
  EXPECT_EQ(add_share_destination(db, "bob@proxy.example", kB, "ops"), 3u);

  const auto details = find_share_map(db, "Bob@proxy.example");
  ASSERT_TRUE(details);
  const ShareMap& map = details->map;
  EXPECT_EQ(map.recipient, "bob@proxy.example");
  ASSERT_EQ(map.destinations.size(), 3u);  // the order of adding: share index = position + 1
  EXPECT_EQ(map.destinations[0].mailbox, kC.mailbox);
  EXPECT_EQ(map.destinations[1].mailbox, kA.mailbox);
  EXPECT_EQ(map.destinations[2].upstream, kB.upstream);
  EXPECT_EQ(map.threshold, std::nullopt);
  EXPECT_EQ(map.format, ShareFormat::Postern);
  EXPECT_TRUE(map.envelope_from.empty());
  EXPECT_EQ(share_map_problem(map), "");
  EXPECT_EQ(details->created_at.size(), 19u);
  EXPECT_GE(details->updated_at, details->created_at);

  // Removing one moves the later ones up.
  remove_share_destination(db, "bob@proxy.example", "BOB@mail-c.example", "ops");
  EXPECT_EQ(last_audit(store), "ops|unshare|bob@proxy.example|to bob@mail-c.example via provider-c");
  EXPECT_EQ(add_share_destination(db, "bob@proxy.example", kC, "ops"), 3u);
  const auto again = find_share_map(db, "bob@proxy.example")->map.destinations;
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].mailbox, kA.mailbox);
  EXPECT_EQ(again[1].mailbox, kB.mailbox);
  EXPECT_EQ(again[2].mailbox, kC.mailbox);

  set_share_threshold(db, "bob@proxy.example", 2, "ops");
  EXPECT_EQ(last_audit(store), "ops|set share|bob@proxy.example|threshold 2");
  set_share_envelope_from(db, "bob@proxy.example", "provider-b", "acct@mail-b.example", "ops");
  EXPECT_EQ(last_audit(store), "ops|set share|bob@proxy.example|envelope-from acct@mail-b.example via provider-b");
  set_share_envelope_from(db, "bob@proxy.example", "provider-b", "other@mail-b.example", "ops");
  set_share_envelope_from(db, "bob@proxy.example", "provider-z", "z@mail-z.example", "ops");  // no destination yet
  add_share_map(db, "alice@proxy.example", "ops");

  const auto maps = all_share_maps(db);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].recipient, "alice@proxy.example");
  EXPECT_TRUE(maps[0].destinations.empty());
  EXPECT_EQ(maps[1].recipient, "bob@proxy.example");
  EXPECT_EQ(maps[1].threshold, 2);
  EXPECT_EQ(maps[1].destinations.size(), 3u);
  EXPECT_EQ(maps[1].envelope_from, (std::map<std::string, std::string>{
                                        {"provider-b", "other@mail-b.example"}, {"provider-z", "z@mail-z.example"}}));

  set_share_envelope_from(db, "bob@proxy.example", "provider-z", std::nullopt, "ops");
  EXPECT_EQ(last_audit(store), "ops|set share|bob@proxy.example|envelope-from none via provider-z");
  set_share_threshold(db, "bob@proxy.example", std::nullopt, "ops");
  EXPECT_EQ(last_audit(store), "ops|set share|bob@proxy.example|threshold all");
  set_share_format(db, "bob@proxy.example", ShareFormat::Privmail, "ops");
  EXPECT_EQ(last_audit(store), "ops|set share|bob@proxy.example|format privmail");
  const auto privmail = find_share_map(db, "bob@proxy.example")->map;
  EXPECT_EQ(privmail.format, ShareFormat::Privmail);
  EXPECT_EQ(privmail.threshold, std::nullopt);
  EXPECT_EQ(privmail.envelope_from.size(), 1u);

  // Deleting a map takes its destinations and envelope senders with it.
  delete_share_map(db, "BOB@proxy.example", "ops");
  EXPECT_EQ(last_audit(store), "ops|del share|bob@proxy.example|");
  EXPECT_FALSE(find_share_map(db, "bob@proxy.example"));
  pqxx::read_transaction tx{db};
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_share_destinations")[0].as<int>(), 0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_share_envelope_from")[0].as<int>(), 0);
}

TEST(ShareMaps, RefuseWhatCannotBeRightAndAuditNothingThen) {
  Store store = migrated_store("share_refused");
  auto& db = store.connection();
  add_share_map(db, "bob@proxy.example", "ops");
  add_share_destination(db, "bob@proxy.example", kA, "ops");
  const auto audit_rows = store.audit("").size();

  EXPECT_THROW(add_share_map(db, "Bob@proxy.example", "ops"), AlreadyExists);
  EXPECT_EQ(failure([&] { add_share_map(db, "BOB@proxy.example", "ops"); }),
            "share map bob@proxy.example already exists");  // named as stored
  EXPECT_THROW(add_share_destination(db, "nobody@proxy.example", kB, "ops"), NotFound);
  EXPECT_THROW(add_share_destination(db, "bob@proxy.example", {"BOB@mail-a.example", "provider-x"}, "ops"),
               AlreadyExists);
  EXPECT_EQ(failure([&] { add_share_destination(db, "bob@proxy.example", {"bob@mail-x.example", "provider-a"}, "ops"); }),
            "upstream provider-a already carries destination 1 (bob@mail-a.example) of share map "
            "bob@proxy.example: each destination needs an upstream of its own");
  EXPECT_THROW(add_share_destination(db, "bob@proxy.example", {"bob@mail-x.example", "provider-a"}, "ops"),
               AlreadyExists);
  EXPECT_THROW(add_share_destination(db, "bob@proxy.example", {"Bob@proxy.example", "provider-x"}, "ops"),
               InvalidInput);
  EXPECT_THROW(add_share_destination(db, "bob@proxy.example", {"bob@mail-x.example", "bad name"}, "ops"),
               InvalidInput);
  EXPECT_THROW(remove_share_destination(db, "bob@proxy.example", "bob@mail-x.example", "ops"), NotFound);
  EXPECT_THROW(remove_share_destination(db, "nobody@proxy.example", kA.mailbox, "ops"), NotFound);
  EXPECT_THROW(delete_share_map(db, "nobody@proxy.example", "ops"), NotFound);

  // A threshold above the destinations the map has now, or below 2; a threshold with privmail.
  EXPECT_THROW(set_share_threshold(db, "bob@proxy.example", 2, "ops"), InvalidInput);  // one destination
  add_share_destination(db, "bob@proxy.example", kB, "ops");
  EXPECT_THROW(set_share_threshold(db, "bob@proxy.example", 3, "ops"), InvalidInput);
  EXPECT_THROW(set_share_threshold(db, "bob@proxy.example", 1, "ops"), InvalidInput);
  EXPECT_THROW(set_share_threshold(db, "bob@proxy.example", 0, "ops"), InvalidInput);
  EXPECT_THROW(set_share_threshold(db, "nobody@proxy.example", 2, "ops"), NotFound);
  set_share_threshold(db, "bob@proxy.example", 2, "ops");
  EXPECT_THROW(set_share_format(db, "bob@proxy.example", ShareFormat::Privmail, "ops"), InvalidInput);
  set_share_threshold(db, "bob@proxy.example", std::nullopt, "ops");
  set_share_format(db, "bob@proxy.example", ShareFormat::Privmail, "ops");
  EXPECT_THROW(set_share_threshold(db, "bob@proxy.example", 2, "ops"), InvalidInput);
  EXPECT_THROW(set_share_envelope_from(db, "bob@proxy.example", "provider-a", std::nullopt, "ops"), NotFound);
  EXPECT_THROW(set_share_envelope_from(db, "bob@proxy.example", "a/b", "x@y.example", "ops"), InvalidInput);
  EXPECT_THROW(set_share_envelope_from(db, "nobody@proxy.example", "provider-a", "x@y.example", "ops"), NotFound);

  // Only the four changes that were made are in the audit log.
  const auto entries = store.audit("");
  ASSERT_EQ(entries.size(), audit_rows + 4);
  EXPECT_EQ(entries[audit_rows].detail, "to bob@mail-b.example via provider-b");
  EXPECT_EQ(entries[audit_rows + 3].detail, "format privmail");
}

TEST(ShareMaps, AUnshareMayLeaveAMapUnusableWhichItThenSays) {
  Store store = migrated_store("share_unusable");
  auto& db = store.connection();
  add_share_map(db, "bob@proxy.example", "ops");
  for (const auto& d : {kA, kB, kC}) add_share_destination(db, "bob@proxy.example", d, "ops");
  set_share_threshold(db, "bob@proxy.example", 3, "ops");
  remove_share_destination(db, "bob@proxy.example", kC.mailbox, "ops");  // replacing a destination
  EXPECT_EQ(share_map_problem(find_share_map(db, "bob@proxy.example")->map),
            "threshold 3 is more than the 2 destinations");
}

TEST(ShareMaps, TheTablesRefuseWhatTheCodeNeverWrites) {
  Store store = migrated_store("share_checks");
  auto& db = store.connection();
  add_share_map(db, "bob@proxy.example", "ops");
  const auto refused = [&](const std::string& sql) {
    try {
      pqxx::work tx{db};
      tx.exec(sql);
      tx.commit();
      return false;
    } catch (const pqxx::integrity_constraint_violation&) {
      return true;
    }
  };
  EXPECT_TRUE(refused("UPDATE postern_share_maps SET threshold = 1"));
  EXPECT_TRUE(refused("UPDATE postern_share_maps SET threshold = 256"));
  EXPECT_TRUE(refused("UPDATE postern_share_maps SET format = 'html'"));
  EXPECT_TRUE(refused("INSERT INTO postern_share_maps (recipient) VALUES ('BOB@proxy.example')"));
  EXPECT_TRUE(refused("INSERT INTO postern_share_maps (recipient) VALUES ('no-at-sign')"));
  EXPECT_TRUE(refused("INSERT INTO postern_share_destinations (map_id, mailbox, upstream) "
                      "SELECT id, 'x@y.example', 'bad name' FROM postern_share_maps"));
  EXPECT_TRUE(refused("INSERT INTO postern_share_destinations (map_id, mailbox, upstream) VALUES (999, 'x@y.example', 'a')"));
  EXPECT_TRUE(refused("INSERT INTO postern_share_destinations (map_id, mailbox, upstream) "
                      "SELECT id, 'x@y.example', 'a' FROM postern_share_maps UNION ALL "
                      "SELECT id, 'z@y.example', 'a' FROM postern_share_maps"));
  EXPECT_FALSE(refused("UPDATE postern_share_maps SET threshold = 2"));
}

TEST(ShareMaps, EveryChangeNotifiesTheRecipientOnceAtCommit) {
  const std::string url = PgCluster::instance().fresh_database("share_notify");
  Store store{url};
  auto& db = store.connection();
  migrate(db);
  postern::test::NotificationRecorder relay{url, kShareMapChannel};
  const std::vector<std::string> bob{"bob@proxy.example"};

  add_share_map(db, "bob@proxy.example", "ops");
  EXPECT_EQ(relay.take(1), bob);
  add_share_destination(db, "bob@proxy.example", kA, "ops");
  EXPECT_EQ(relay.take(1), bob);  // the destination and the map's updated_at: one notification
  add_share_destination(db, "bob@proxy.example", kB, "ops");
  EXPECT_EQ(relay.take(1), bob);
  set_share_threshold(db, "bob@proxy.example", 2, "ops");
  EXPECT_EQ(relay.take(1), bob);
  set_share_format(db, "bob@proxy.example", ShareFormat::Postern, "ops");
  EXPECT_EQ(relay.take(1), bob);
  set_share_envelope_from(db, "bob@proxy.example", "provider-a", "acct@mail-a.example", "ops");
  EXPECT_EQ(relay.take(1), bob);
  set_share_envelope_from(db, "bob@proxy.example", "provider-a", std::nullopt, "ops");
  EXPECT_EQ(relay.take(1), bob);
  remove_share_destination(db, "bob@proxy.example", kB.mailbox, "ops");
  EXPECT_EQ(relay.take(1), bob);

  // A refused change notifies nothing; reads notify nothing.
  EXPECT_THROW(add_share_destination(db, "bob@proxy.example", {"x@y.example", "provider-a"}, "ops"), AlreadyExists);
  all_share_maps(db);
  EXPECT_EQ(relay.take(0), std::vector<std::string>{});

  // Changes made by hand, outside mailadmin, too; an uncommitted one only at its commit.
  {
    pqxx::work tx{db};
    tx.exec("UPDATE postern_share_destinations SET upstream = 'provider-q'");
    EXPECT_EQ(relay.take(0), std::vector<std::string>{});
    tx.commit();
  }
  EXPECT_EQ(relay.take(1), bob);
  {
    pqxx::work tx{db};
    tx.exec("UPDATE postern_share_maps SET recipient = 'robert@proxy.example'");
    tx.commit();
  }
  EXPECT_EQ(relay.take(2), (std::vector<std::string>{"bob@proxy.example", "robert@proxy.example"}));

  // Deleting a map notifies once, though its destinations go with it.
  add_share_destination(db, "robert@proxy.example", kC, "ops");
  relay.take(1);
  delete_share_map(db, "robert@proxy.example", "ops");
  EXPECT_EQ(relay.take(1), std::vector<std::string>{"robert@proxy.example"});

  // TRUNCATE names no row: the empty payload means every map.
  {
    pqxx::work tx{db};
    tx.exec("TRUNCATE postern_share_maps CASCADE");
    tx.commit();
  }
  const auto truncated = relay.take(1);
  ASSERT_FALSE(truncated.empty());
  for (const auto& payload : truncated) EXPECT_EQ(payload, "");
}

TEST(ShareMaps, TheRelayRoleReadsEveryMapAndChangesNone) {
  const std::string url = PgCluster::instance().fresh_database("share_relay");
  const std::string role = "relay_share_maps_" + std::to_string(getpid());
  Store store{url};
  auto& owner = store.connection();
  migrate(owner);
  set_up_relay_role(owner, url, {role, std::nullopt});
  EXPECT_TRUE(relay_role_status(owner, role).ready());
  add_share_map(owner, "bob@proxy.example", "ops");
  add_share_destination(owner, "bob@proxy.example", kA, "ops");
  add_share_destination(owner, "bob@proxy.example", kB, "ops");
  set_share_envelope_from(owner, "bob@proxy.example", "provider-a", "acct@mail-a.example", "ops");

  pqxx::connection relay{as_role(url, role)};
  {
    pqxx::nontransaction tx{relay};
    tx.exec(std::string("LISTEN ") + kShareMapChannel);
  }
  const auto maps = all_share_maps(relay);
  ASSERT_EQ(maps.size(), 1u);
  EXPECT_EQ(maps[0].destinations.size(), 2u);
  EXPECT_EQ(maps[0].envelope_from.at("provider-a"), "acct@mail-a.example");
  const ShareMapIndex index(maps, SenderPolicy{false, "+"});
  ASSERT_NE(index.find(address("Bob+x@proxy.example")), nullptr);

  EXPECT_THROW(add_share_map(relay, "mallory@proxy.example", "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(add_share_destination(relay, "bob@proxy.example", kC, "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(delete_share_map(relay, "bob@proxy.example", "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(set_share_threshold(relay, "bob@proxy.example", 2, "relay"), pqxx::insufficient_privilege);
  EXPECT_EQ(all_share_maps(owner).size(), 1u);
}
