// The webhook outbox against a real PostgreSQL: the events the queue writes with its changes
// (and none without subscriptions), the claim's order per endpoint and message, retries, leases,
// giving up, the backlog.
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/store.hpp"
#include "postern/schema/webhook_outbox.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

WebhookSubscriptions all_events(std::initializer_list<const char*> endpoints) {
  WebhookSubscriptions s;
  for (const char* endpoint : endpoints) {
    for (auto type : {WebhookEventType::Accepted, WebhookEventType::Delivered, WebhookEventType::Deferred,
                      WebhookEventType::Bounced, WebhookEventType::Expired}) {
      s.add(endpoint, type);
    }
  }
  return s;
}

// An outbox row as the test compares it: "endpoint event recipient[#share] reply".
std::string line_of(const WebhookEvent& e) {
  return e.endpoint + " " + e.type + " " + e.recipient + (e.share_index ? "#" + std::to_string(e.share_index) : "") +
         (e.reply.empty() ? "" : " " + e.reply);
}

class WebhookOutbox : public testing::Test {
 protected:
  void SetUp() override {
    url_ = PgCluster::instance().fresh_database("webhook_outbox");
    store_.emplace(url_);
    migrate(db());
    prepare_queue_statements(db());
  }
  pqxx::connection_base& db() { return store_->connection(); }

  std::string enqueue_one(const WebhookSubscriptions& hooks,
                          std::vector<std::string> recipients = {"bob@example.org", "carol@example.net"}) {
    QueuedMessage m;
    m.id = new_queue_id();
    m.sender = "alice@example.com";
    m.auth_user = "alice";
    m.client_address = "192.0.2.1";
    m.recipients = std::move(recipients);
    m.message = "Subject: x\r\n\r\nbody\r\n";
    m.webhooks = hooks;
    enqueue(db(), m);
    return m.id;
  }

  // Every row, in order, as line_of() prints it.
  std::vector<std::string> outbox() {
    pqxx::read_transaction tx{db()};
    std::vector<std::string> lines;
    for (const auto& row : tx.exec("SELECT endpoint || ' ' || event || ' ' || recipient || "
                                   "COALESCE('#' || share_index, '') || COALESCE(' ' || reply, '') "
                                   "FROM postern_webhook_outbox ORDER BY id")) {
      lines.push_back(row[0].as<std::string>());
    }
    return lines;
  }

  // Claims, then acknowledges, every event until none is left; returns them in claim order.
  std::vector<std::string> drain(const std::vector<std::string>& endpoints) {
    std::vector<std::string> sent;
    for (int round = 0; round < 20; ++round) {
      auto events = claim_webhook_events(db(), "r", 100, 60, endpoints);
      if (events.empty()) break;
      std::vector<std::int64_t> ids;
      for (const auto& e : events) {
        sent.push_back(line_of(e));
        ids.push_back(e.id);
      }
      webhook_events_sent(db(), "r", ids);
    }
    return sent;
  }

  std::string url_;
  std::optional<Store> store_;
};

}  // namespace

TEST(WebhookNames, EventNamesAndEndpointNames) {
  EXPECT_STREQ(webhook_event_name(WebhookEventType::Expired), "expired");
  EXPECT_EQ(webhook_event_type("bounced"), WebhookEventType::Bounced);
  EXPECT_FALSE(webhook_event_type("Bounced"));
  EXPECT_TRUE(is_webhook_endpoint_name("ops-1_a"));
  EXPECT_FALSE(is_webhook_endpoint_name(""));
  EXPECT_FALSE(is_webhook_endpoint_name("-ops"));
  EXPECT_FALSE(is_webhook_endpoint_name("Ops"));
  EXPECT_FALSE(is_webhook_endpoint_name("a:b"));
  EXPECT_FALSE(is_webhook_endpoint_name(std::string(64, 'a')));
  WebhookSubscriptions s;
  EXPECT_TRUE(s.empty());
  s.add("a", WebhookEventType::Delivered);
  s.add("b", WebhookEventType::Delivered);
  s.add("a", WebhookEventType::Delivered);  // once
  EXPECT_EQ(s.pairs(), "a:delivered,b:delivered");
  EXPECT_EQ(s.endpoints(WebhookEventType::Delivered), "a,b");
  EXPECT_FALSE(s.wants(WebhookEventType::Accepted));
  EXPECT_THROW(s.add("a,b", WebhookEventType::Accepted), std::invalid_argument);
}

TEST_F(WebhookOutbox, NoSubscriptionWritesNoRow) {
  const auto id = enqueue_one({});
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 1u);
  AttemptRecord record{id, "a", {{1, RecipientOutcome::Delivered, "250 ok"}, {2, RecipientOutcome::Deferred, "451 later"}},
                       60, "", {}, {}};
  ASSERT_TRUE(record_attempt(db(), record));
  EXPECT_TRUE(outbox().empty());
  EXPECT_TRUE(webhook_backlog(db()).empty());
}

TEST_F(WebhookOutbox, IntakeWritesAcceptedPerRecipientAndSubscribedEndpoint) {
  WebhookSubscriptions hooks = all_events({"ops"});
  hooks.add("audit", WebhookEventType::Accepted);
  hooks.add("late", WebhookEventType::Delivered);  // takes no accepted events
  enqueue_one(hooks);
  EXPECT_EQ(outbox(), (std::vector<std::string>{"audit accepted bob@example.org", "ops accepted bob@example.org",
                                                "audit accepted carol@example.net", "ops accepted carol@example.net"}));
  pqxx::read_transaction tx{db()};
  const auto row = tx.exec1("SELECT sender, auth_user, intake, length(event_id::text) FROM postern_webhook_outbox LIMIT 1");
  EXPECT_EQ(row[0].as<std::string>(), "alice@example.com");
  EXPECT_EQ(row[1].as<std::string>(), "alice");
  EXPECT_EQ(row[2].as<std::string>(), "submission");
  EXPECT_EQ(row[3].as<int>(), 36);
}

TEST_F(WebhookOutbox, ADeliveredMessageTellsItInTheStatementThatDeletesIt) {
  const auto hooks = all_events({"ops"});
  const auto id = enqueue_one(hooks);
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 1u);
  AttemptRecord record{id, "a", {{1, RecipientOutcome::Delivered, "250 ok"}, {2, RecipientOutcome::Delivered, "250 fine"}},
                       60, "", {}, {}};
  record.webhooks = hooks;
  ASSERT_TRUE(record_attempt(db(), record));
  EXPECT_EQ(outbox(), (std::vector<std::string>{"ops accepted bob@example.org", "ops accepted carol@example.net",
                                                "ops delivered bob@example.org 250 ok",
                                                "ops delivered carol@example.net 250 fine"}));
  pqxx::read_transaction tx{db()};
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM postern_queue WHERE id = $1", id)[0].as<int>(), 0);
}

TEST_F(WebhookOutbox, DeferredThenBouncedAndExpiredWithTheDsnAccepted) {
  const auto hooks = all_events({"ops"});
  const auto id = enqueue_one(hooks);
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 1u);
  AttemptRecord first{id, "a", {{1, RecipientOutcome::Deferred, "451 later"}, {2, RecipientOutcome::Deferred, "421 busy"}},
                      0, "451 later", {}, {}};
  first.webhooks = hooks;
  ASSERT_TRUE(record_attempt(db(), first));
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 1u);
  QueuedMessage bounce;
  bounce.id = new_queue_id();
  bounce.sender = "";
  bounce.auth_user = "postern";
  bounce.recipients = {"alice@example.com"};
  bounce.message = "Subject: failure\r\n\r\nsorry\r\n";
  bounce.webhooks = hooks;
  RecipientUpdate expired{2, RecipientOutcome::Failed, "421 busy", true};
  AttemptRecord second{id, "a", {{1, RecipientOutcome::Failed, "550 no such user"}, expired}, 60, "", bounce, {}};
  second.webhooks = hooks;
  ASSERT_TRUE(record_attempt(db(), second));
  EXPECT_EQ(outbox(), (std::vector<std::string>{
                          "ops accepted bob@example.org", "ops accepted carol@example.net",
                          "ops deferred bob@example.org 451 later", "ops deferred carol@example.net 421 busy",
                          "ops bounced bob@example.org 550 no such user", "ops expired carol@example.net 421 busy",
                          "ops accepted alice@example.com"}));
  pqxx::read_transaction tx{db()};
  EXPECT_EQ(tx.exec_params1("SELECT sender FROM postern_webhook_outbox WHERE message_id = $1", bounce.id)[0]
                .as<std::string>(), "");
}

TEST_F(WebhookOutbox, SharesTellTheirDeferralsAndTheirRecipientOnceSettled) {
  const auto hooks = all_events({"ops"});
  QueuedMessage m;
  m.id = new_queue_id();
  m.sender = "alice@example.com";
  m.auth_user = "alice";
  m.recipients = {"bob@example.org"};
  m.message = "Subject: x\r\n\r\nbody\r\n";
  m.shared = {{1, "xor", 2, "postern", {{"b1@a.example", "a", ""}, {"b2@b.example", "b", ""}}}};
  m.share_seed = std::string(32, '\x01');
  m.webhooks = hooks;
  enqueue(db(), m);
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 1u);
  AttemptRecord first{m.id, "a", {}, 0, "", {},
                      {{1, 1, RecipientOutcome::Delivered, "250 one"}, {1, 2, RecipientOutcome::Deferred, "451 two"}}};
  first.webhooks = hooks;
  ASSERT_TRUE(record_attempt(db(), first));
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 1u);
  AttemptRecord second{m.id, "a", {}, 0, "", {}, {{1, 2, RecipientOutcome::Delivered, "250 two"}}};
  second.webhooks = hooks;
  ASSERT_TRUE(record_attempt(db(), second));
  EXPECT_EQ(outbox(), (std::vector<std::string>{"ops accepted bob@example.org", "ops deferred bob@example.org#2 451 two",
                                                "ops delivered bob@example.org 250 two"}));
}

TEST_F(WebhookOutbox, ClaimsOneEventPerMessageAndEndpointInTheOrderWritten) {
  const auto hooks = all_events({"ops", "crm"});
  const auto a = enqueue_one(hooks, {"bob@example.org"});
  const auto b = enqueue_one(hooks, {"carol@example.net"});
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 2u);
  for (const auto& id : {a, b}) {
    AttemptRecord record{id, "a", {{1, RecipientOutcome::Delivered, "250 ok"}}, 60, "", {}, {}};
    record.webhooks = hooks;
    ASSERT_TRUE(record_attempt(db(), record));
  }
  // First round: the accepted event of each message for each endpoint; delivered waits.
  auto round = claim_webhook_events(db(), "r", 100, 60, {"ops", "crm"});
  std::vector<std::string> lines;
  for (const auto& e : round) lines.push_back(line_of(e));
  EXPECT_EQ(lines, (std::vector<std::string>{"crm accepted bob@example.org", "ops accepted bob@example.org",
                                             "crm accepted carol@example.net", "ops accepted carol@example.net"}));
  // Nothing more while those are leased, even for another replica.
  EXPECT_TRUE(claim_webhook_events(db(), "other", 100, 60, {"ops", "crm"}).empty());
  EXPECT_FALSE(seconds_until_next_webhook(db(), {"ops", "crm"}).value_or(0) < 1);
  std::vector<std::int64_t> ids;
  for (const auto& e : round) ids.push_back(e.id);
  webhook_events_sent(db(), "r", ids);
  EXPECT_EQ(drain({"ops", "crm"}),
            (std::vector<std::string>{"crm delivered bob@example.org 250 ok", "ops delivered bob@example.org 250 ok",
                                      "crm delivered carol@example.net 250 ok",
                                      "ops delivered carol@example.net 250 ok"}));
}

TEST_F(WebhookOutbox, AFailedPostRetriesLaterAndHoldsBackItsMessagesNextEvents) {
  const auto hooks = all_events({"ops"});
  const auto id = enqueue_one(hooks, {"bob@example.org"});
  ASSERT_EQ(claim_due(db(), "a", 10, 60).size(), 1u);
  AttemptRecord record{id, "a", {{1, RecipientOutcome::Delivered, "250 ok"}}, 60, "", {}, {}};
  record.webhooks = hooks;
  ASSERT_TRUE(record_attempt(db(), record));
  auto first = claim_webhook_events(db(), "r", 100, 60, {"ops"});
  ASSERT_EQ(first.size(), 1u);
  webhook_event_failed(db(), "r", first[0].id, 300, "HTTP 503");
  // The accepted event is due in 5 minutes; its delivered event waits behind it, as long.
  EXPECT_TRUE(claim_webhook_events(db(), "r", 100, 60, {"ops"}).empty());
  {
    pqxx::read_transaction tx{db()};
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_webhook_outbox WHERE next_attempt_at > now() + interval "
                       "'250 seconds'")[0].as<int>(), 2);
  }
  EXPECT_GT(*seconds_until_next_webhook(db(), {"ops"}), 250);
  auto backlog = webhook_backlog(db());
  ASSERT_EQ(backlog.size(), 1u);
  EXPECT_EQ(backlog[0].endpoint, "ops");
  EXPECT_EQ(backlog[0].pending, 2);
  EXPECT_EQ(backlog[0].failing, 1);
  EXPECT_EQ(backlog[0].last_error, "HTTP 503");
  // An operator's retry makes it due now; it comes back with its count and the same event id.
  EXPECT_EQ(retry_webhook_events_now(db(), "ops", "tester"), 2);
  {
    pqxx::read_transaction tx{db()};
    EXPECT_EQ(tx.exec1("SELECT actor || ' ' || action || ' ' || subject || ' ' || detail FROM postern_audit "
                       "ORDER BY id DESC LIMIT 1")[0].as<std::string>(),
              "tester webhooks retry ops 2 events");
  }
  auto again = claim_webhook_events(db(), "r", 100, 60, {"ops"});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].event_id, first[0].event_id);
  EXPECT_EQ(again[0].attempts, 1);
  EXPECT_EQ(again[0].type, "accepted");
}

TEST_F(WebhookOutbox, OnlyTheNamedEndpointsAreClaimedAndOnlyTheLeaseOwnerAcknowledges) {
  enqueue_one(all_events({"ops", "gone"}), {"bob@example.org"});
  auto events = claim_webhook_events(db(), "r", 100, 60, {"ops"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].endpoint, "ops");
  EXPECT_EQ(events[0].sender, "alice@example.com");
  EXPECT_EQ(events[0].auth_user, "alice");
  EXPECT_EQ(events[0].intake, "submission");
  EXPECT_EQ(events[0].message_id.size(), 20u);
  EXPECT_GT(events[0].created_at, 1700000000);
  webhook_events_sent(db(), "someone-else", {events[0].id});  // not theirs: stays
  EXPECT_EQ(outbox().size(), 2u);
  webhook_events_sent(db(), "r", {events[0].id});
  EXPECT_EQ(outbox(), (std::vector<std::string>{"gone accepted bob@example.org"}));
  EXPECT_TRUE(claim_webhook_events(db(), "r", 100, 60, {}).empty());
}

TEST_F(WebhookOutbox, ALeaseThatRanOutIsTakenOver) {
  enqueue_one(all_events({"ops"}), {"bob@example.org"});
  ASSERT_EQ(claim_webhook_events(db(), "dead", 100, 1, {"ops"}).size(), 1u);
  {
    pqxx::work tx{db()};
    tx.exec("UPDATE postern_webhook_outbox SET lease_until = now() - interval '1 second'");
    tx.commit();
  }
  auto events = claim_webhook_events(db(), "alive", 100, 60, {"ops"});
  ASSERT_EQ(events.size(), 1u);
  webhook_events_sent(db(), "dead", {events[0].id});  // the dead one's late ack changes nothing
  EXPECT_EQ(outbox().size(), 1u);
}

TEST_F(WebhookOutbox, LeasesOfEarlierBootsAndUnpostedEventsAreReleased) {
  enqueue_one(all_events({"ops"}), {"bob@example.org"});
  enqueue_one(all_events({"ops"}), {"carol@example.net"});
  enqueue_one(all_events({"ops"}), {"dave@example.net"});
  const auto old_boot = claim_webhook_events(db(), "relay_0/old", 1, 600, {"ops"});
  const auto other = claim_webhook_events(db(), "relay-1/x", 1, 600, {"ops"});
  const auto stopping = claim_webhook_events(db(), "relay_0/new", 1, 600, {"ops"});
  ASSERT_EQ(old_boot.size() + other.size() + stopping.size(), 3u);
  EXPECT_EQ(release_earlier_webhook_leases(db(), "relay_0", "relay_0/new"), 1);  // not relay-1's, not its own
  release_webhook_events(db(), "relay_0/new", {stopping[0].id});
  auto again = claim_webhook_events(db(), "relay_0/new", 10, 600, {"ops"});
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].id, old_boot[0].id);
  EXPECT_EQ(again[1].id, stopping[0].id);
  EXPECT_EQ(again[1].attempts, 0);
}

TEST_F(WebhookOutbox, EventsPastTheirAgeAreGivenUp) {
  enqueue_one(all_events({"ops"}), {"bob@example.org"});
  EXPECT_TRUE(give_up_webhook_events(db(), 3600).empty());
  {
    pqxx::work tx{db()};
    tx.exec("UPDATE postern_webhook_outbox SET created_at = now() - interval '2 hours'");
    tx.commit();
  }
  const auto dropped = give_up_webhook_events(db(), 3600);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].type, "accepted");
  EXPECT_TRUE(outbox().empty());
}
