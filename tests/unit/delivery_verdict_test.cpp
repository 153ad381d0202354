// The delivery decision: each recipient delivered, deferred or failed, the retry time, the last
// error, and the DSN built from structured replies.
#include "server/delivery/attempt_verdict.hpp"

#include <gtest/gtest.h>

namespace postern::delivery {
namespace {

using smtp_client::RecipientResult;

RecipientResult reply(int code, const char* enhanced, const char* text) {
  return RecipientResult::of(smtp::Reply::line(code, enhanced, text));
}

schema::ClaimedMessage claimed(std::vector<std::string> recipients, long long age_seconds = 0, int attempts = 1) {
  schema::ClaimedMessage m;
  m.id = "Q1";
  m.sender = "alice@example.com";
  m.size = 4096;
  m.attempts = attempts;
  m.age_seconds = age_seconds;
  m.arrival_time = 1'700'000'000;
  int position = 0;
  for (auto& r : recipients) m.recipients.push_back({position++, std::move(r), std::nullopt});
  return m;
}

// The original's header section, as delivery reads it for a DSN.
const std::string kHeaderSection = "From: alice@example.com\r\nSubject: hi\r\n";

DeliveryConfig config() {
  DeliveryConfig c;
  c.first_retry_seconds = 60;
  c.max_retry_seconds = 3600;
  c.lifetime_seconds = 86400;
  return c;
}

TEST(AttemptVerdict, TwoHundredsAreDeliveredAndNothingBounces) {
  Attempt attempt{{reply(250, "2.0.0", "Ok: queued")}, "", "mx.example"};
  AttemptVerdict v = judge_attempt(claimed({"bob@example.org"}), attempt, config(), 0.5);
  ASSERT_EQ(v.record.recipients.size(), 1u);
  EXPECT_EQ(v.record.recipients[0].outcome, schema::RecipientOutcome::Delivered);
  EXPECT_EQ(v.record.recipients[0].reply, "250 2.0.0 Ok: queued");
  EXPECT_EQ(v.verdicts, std::vector<RecipientVerdict>{RecipientVerdict::Delivered});
  EXPECT_TRUE(v.failed.empty());
  EXPECT_EQ(v.record.last_error, "");
  EXPECT_FALSE(bounces(claimed({"bob@example.org"}), v.failed));
  EXPECT_FALSE(bounce_for(claimed({"bob@example.org"}), kHeaderSection, v.failed, "relay.example", 0, "B1"));
}

TEST(AttemptVerdict, FiveHundredsFailWithTheirOwnEnhancedCodeAndTheUpstreamAsRemoteMta) {
  Attempt attempt{{reply(550, "5.1.1", "no such user"), reply(250, "2.0.0", "Ok")}, "", "mx.example"};
  AttemptVerdict v = judge_attempt(claimed({"x@example.org", "y@example.org"}), attempt, config(), 0.5);
  EXPECT_EQ(v.record.recipients[0].outcome, schema::RecipientOutcome::Failed);
  EXPECT_FALSE(v.record.recipients[0].expired);  // a webhook's "bounced"
  EXPECT_EQ(v.record.recipients[1].outcome, schema::RecipientOutcome::Delivered);
  ASSERT_EQ(v.failed.size(), 1u);
  EXPECT_EQ(v.failed[0].address, "x@example.org");
  EXPECT_EQ(v.failed[0].status, "5.1.1");
  EXPECT_EQ(v.failed[0].diagnostic, "smtp; 550 5.1.1 no such user");
  EXPECT_EQ(v.failed[0].remote_mta, "mx.example");
}

TEST(AttemptVerdict, AFiveHundredWithoutAnEnhancedCodeGetsTheClassDefault) {
  Attempt attempt{{RecipientResult::of(smtp::Reply{554, "", {"go away"}})}, "", "mx.example"};
  AttemptVerdict v = judge_attempt(claimed({"x@example.org"}), attempt, config(), 0.5);
  ASSERT_EQ(v.failed.size(), 1u);
  EXPECT_EQ(v.failed[0].status, "5.0.0");
  EXPECT_EQ(v.failed[0].diagnostic, "smtp; 554 go away");
}

TEST(AttemptVerdict, FourHundredsAreDeferredWithTheBackoffAndTheFirstReplyAsLastError) {
  Attempt attempt{{reply(451, "4.2.0", "mailbox busy"), reply(452, "4.2.2", "full")}, "", "mx.example"};
  AttemptVerdict v = judge_attempt(claimed({"x@example.org", "y@example.org"}, 100, 2), attempt, config(), 0.5);
  EXPECT_EQ(v.record.recipients[0].outcome, schema::RecipientOutcome::Deferred);
  EXPECT_EQ(v.record.recipients[1].outcome, schema::RecipientOutcome::Deferred);
  EXPECT_EQ(v.record.retry_after_seconds, 120);  // second attempt: 2 x 60 s
  EXPECT_EQ(v.record.last_error, "451 4.2.0 mailbox busy");
  EXPECT_TRUE(v.failed.empty());
}

TEST(AttemptVerdict, AWholeAttemptErrorIsTheLastErrorAndNamesNoRemoteMta) {
  Attempt attempt{{reply(451, "4.4.1", "connect to mx.example:587 failed: Connection refused")},
                  "connect to mx.example:587 failed: Connection refused", "mx.example"};
  AttemptVerdict v = judge_attempt(claimed({"x@example.org"}), attempt, config(), 0.5);
  EXPECT_EQ(v.record.last_error, "connect to mx.example:587 failed: Connection refused");

  Attempt refused{{reply(535, "5.7.8", "bad credentials")}, "AUTH PLAIN refused", "mx.example"};
  AttemptVerdict failed = judge_attempt(claimed({"x@example.org"}), refused, config(), 0.5);
  ASSERT_EQ(failed.failed.size(), 1u);
  EXPECT_EQ(failed.failed[0].remote_mta, "");
}

TEST(AttemptVerdict, AtTheEndOfTheLifetimeADeferralExpiresWithStatus447) {
  Attempt attempt{{reply(451, "4.2.0", "mailbox busy")}, "", "mx.example"};
  AttemptVerdict v = judge_attempt(claimed({"x@example.org"}, 86400, 30), attempt, config(), 0.5);
  EXPECT_EQ(v.record.recipients[0].outcome, schema::RecipientOutcome::Failed);
  EXPECT_TRUE(v.record.recipients[0].expired);  // a webhook's "expired"
  EXPECT_EQ(v.verdicts, std::vector<RecipientVerdict>{RecipientVerdict::Expired});
  ASSERT_EQ(v.failed.size(), 1u);
  EXPECT_EQ(v.failed[0].status, "4.4.7");
  EXPECT_EQ(v.failed[0].diagnostic, "x-postern; delivery time expired; last reply: 451 4.2.0 mailbox busy");
}

TEST(AttemptVerdict, TheLastRetryMovesUpToTheEndOfTheLifetime) {
  Attempt attempt{{reply(451, "4.2.0", "busy")}, "", ""};
  // 86400 - 86000 = 400 s left; the backoff at attempt 7 would be an hour.
  AttemptVerdict v = judge_attempt(claimed({"x@example.org"}, 86000, 7), attempt, config(), 0.5);
  EXPECT_EQ(v.record.retry_after_seconds, 400);
  EXPECT_EQ(v.record.recipients[0].outcome, schema::RecipientOutcome::Deferred);
}

TEST(AttemptVerdict, ARecipientWithoutAResultIsDeferred) {
  Attempt attempt{{}, "", ""};
  AttemptVerdict v = judge_attempt(claimed({"x@example.org"}), attempt, config(), 0.5);
  EXPECT_EQ(v.record.recipients[0].outcome, schema::RecipientOutcome::Deferred);
  EXPECT_EQ(v.record.recipients[0].reply, "451 4.3.0 no reply for recipient");
}

TEST(AttemptVerdict, TheBounceGoesFromTheNullSenderToTheSenderAndCarriesTheFailures) {
  Attempt attempt{{reply(550, "5.1.1", "no such user")}, "", "mx.example"};
  auto message = claimed({"x@example.org"});
  AttemptVerdict v = judge_attempt(message, attempt, config(), 0.5);
  EXPECT_TRUE(bounces(message, v.failed));
  auto bounce = bounce_for(message, kHeaderSection, v.failed, "relay.example", 1'700'000'100, "B1");
  ASSERT_TRUE(bounce);
  EXPECT_EQ(bounce->id, "B1");
  EXPECT_EQ(bounce->sender, "");
  EXPECT_EQ(bounce->recipients, std::vector<std::string>{"alice@example.com"});
  EXPECT_NE(bounce->message.find("Diagnostic-Code: smtp; 550 5.1.1 no such user"), std::string::npos);
  EXPECT_NE(bounce->message.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(bounce->message.find("text/rfc822-headers\r\nContent-Description: Undelivered message headers\r\n\r\n" +
                                 kHeaderSection),
            std::string::npos);
  EXPECT_FALSE(bounce->eight_bit_mime);
}

TEST(AttemptVerdict, NullSenderMailNeverBounces) {
  Attempt attempt{{reply(550, "5.1.1", "no such user")}, "", "mx.example"};
  auto message = claimed({"x@example.org"});
  message.sender = "";
  AttemptVerdict v = judge_attempt(message, attempt, config(), 0.5);
  EXPECT_EQ(v.failed.size(), 1u);
  EXPECT_FALSE(bounces(message, v.failed));
  EXPECT_FALSE(bounce_for(message, kHeaderSection, v.failed, "relay.example", 0, "B1"));
}

// ---- shares ----------------------------------------------------------------------------------

schema::PendingRecipient shared_recipient() {
  schema::RecipientShares shares{"shamir", 2, 3, "postern", {}};
  shares.pending = {{1, {"bob@mail-a.example", "provider-a", ""}}, {2, {"bob@mail-b.example", "provider-b", ""}}};
  return {2, "bob@proxy.example", shares};
}

TEST(AttemptVerdict, EachShareIsJudgedAsTheMailToItsDestination) {
  const schema::ClaimedMessage message = claimed({"plain@example.net"});
  AttemptVerdict v = judge_attempt(message, Attempt{{reply(250, "2.0.0", "Ok")}, "", "mx.example"}, config(), 0.5);
  const auto recipient = shared_recipient();
  judge_share(message, recipient, recipient.shares->pending[0],
              Attempt{{reply(250, "2.0.0", "Ok")}, "", "mx.a.example"}, config(), 0.5, v);
  judge_share(message, recipient, recipient.shares->pending[1],
              Attempt{{reply(451, "4.3.0", "Try later")}, "", "mx.b.example"}, config(), 0.5, v);
  ASSERT_EQ(v.record.shares.size(), 2u);
  EXPECT_EQ(v.record.shares[0].position, 2);
  EXPECT_EQ(v.record.shares[0].index, 1);
  EXPECT_EQ(v.record.shares[0].outcome, schema::RecipientOutcome::Delivered);
  EXPECT_EQ(v.record.shares[1].index, 2);
  EXPECT_EQ(v.record.shares[1].outcome, schema::RecipientOutcome::Deferred);
  EXPECT_EQ(v.share_verdicts, (std::vector<RecipientVerdict>{RecipientVerdict::Delivered, RecipientVerdict::Deferred}));
  EXPECT_EQ(v.record.last_error, "451 4.3.0 Try later");
  EXPECT_TRUE(v.failed.empty());
}

TEST(AttemptVerdict, AFailedShareBouncesUnderTheMappedRecipientNamingTheDestination) {
  const schema::ClaimedMessage message = claimed({});
  AttemptVerdict v = judge_attempt(message, Attempt{}, config(), 0.5);
  const auto recipient = shared_recipient();
  judge_share(message, recipient, recipient.shares->pending[1],
              Attempt{{reply(550, "5.1.1", "No such mailbox")}, "", "mx.b.example"}, config(), 0.5, v);
  ASSERT_EQ(v.failed.size(), 1u);
  EXPECT_EQ(v.failed[0].address, "bob@proxy.example");
  EXPECT_EQ(v.failed[0].status, "5.1.1");
  EXPECT_EQ(v.failed[0].diagnostic,
            "x-postern; share 2 of 3 to bob@mail-b.example via provider-b: 550 5.1.1 No such mailbox");
  EXPECT_EQ(v.failed[0].remote_mta, "mx.b.example");
  EXPECT_EQ(v.record.shares[0].outcome, schema::RecipientOutcome::Failed);
  EXPECT_TRUE(bounces(message, v.failed));
}

}  // namespace
}  // namespace postern::delivery
