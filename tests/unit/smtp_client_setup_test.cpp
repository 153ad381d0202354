// The SMTP client setting a session up, one dialog per edge case: connect, greeting, EHLO and
// HELO, STARTTLS and implicit TLS, AUTH PLAIN and LOGIN, and how each refusal ends the message.
#include "tests/unit/smtp_client_dialog.hpp"

namespace {

using namespace smtp_client_test;
using smtp_client::Outcome;

TEST(SmtpClientSetup, ConnectFailureIsTemporaryForEveryRecipient) {
  ClientDialog d;
  d.begin(envelope({"a@x.test", "b@x.test"}));
  ASSERT_TRUE(d.play({
      "-- connect fails: connect to mx.test:587 failed: Connection refused",
      "-- done",
      "-- hang up",
  }));
  EXPECT_EQ(d.replies(), (Lines{"451 4.4.1 connect to mx.test:587 failed: Connection refused",
                                "451 4.4.1 connect to mx.test:587 failed: Connection refused"}));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Temporary, Outcome::Temporary}));
  EXPECT_EQ(d.result().error, "connect to mx.test:587 failed: Connection refused");
  EXPECT_FALSE(d.result().stale);
  EXPECT_EQ(d.result().recipients[0].reply,
            smtp::Reply::line(451, "4.4.1", "connect to mx.test:587 failed: Connection refused"));
}

TEST(SmtpClientSetup, ResolveFailureHasItsOwnEnhancedCode) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- resolve fails: cannot resolve mx.test: Host not found",
      "-- done",
      "-- hang up",
  }));
  EXPECT_EQ(d.replies(), (Lines{"451 4.4.3 cannot resolve mx.test: Host not found"}));
}

TEST(SmtpClientSetup, PlainSessionDeliversAndStaysOpen) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(greeted()));
  ASSERT_TRUE(d.play(kOneMessage));
  EXPECT_EQ(d.replies(), (Lines{"250 2.0.0 Ok: queued"}));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Delivered}));
  EXPECT_EQ(d.result().error, "");
  ASSERT_TRUE(d.ready().has_value());
  EXPECT_EQ(d.ready()->auth_mechanism, "");
  EXPECT_FALSE(d.ready()->pipelining);
  EXPECT_TRUE(d.protocol().reusable());
  EXPECT_EQ(d.protocol().transactions(), 1u);
}

TEST(SmtpClientSetup, GreetingRefusedTemporarilySaysQuit) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 450 4.3.2 busy, later",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  }));
  EXPECT_EQ(d.replies(), (Lines{"450 4.3.2 busy, later"}));
  EXPECT_EQ(d.result().error, "mx.test:587 greeting refused: 450 4.3.2 busy, later");
  EXPECT_FALSE(d.protocol().reusable());
}

TEST(SmtpClientSetup, GreetingRefusedPermanentlyIsStillTemporary) {
  // A 554 greeting says this server does not want us now, not that the message is bad.
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 554 5.7.1 no service",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  }));
  EXPECT_EQ(d.replies(), (Lines{"451 4.4.0 mx.test:587 greeting refused: 554 5.7.1 no service"}));
  EXPECT_EQ(d.result().error, "mx.test:587 greeting refused: 554 5.7.1 no service");
}

TEST(SmtpClientSetup, Greeting421HangsUp) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 421 4.3.2 shutting down",
      "-- done",
      "-- hang up",
  }));
  EXPECT_EQ(d.replies(), (Lines{"421 4.3.2 shutting down"}));
  EXPECT_EQ(d.result().error, "mx.test:587 greeting refused: 421 4.3.2 shutting down");
}

TEST(SmtpClientSetup, EhloRefusedPermanentlyFallsBackToHelo) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 220 mx.test",
      "C: EHLO relay.test",
      "S: 502 5.5.1 EHLO not implemented",
      "C: HELO relay.test",
      "S: 250 mx.test",
  }));
  ASSERT_TRUE(d.play(kOneMessage));  // no SIZE=: HELO means no extensions
  EXPECT_EQ(d.replies(), (Lines{"250 2.0.0 Ok: queued"}));
}

TEST(SmtpClientSetup, HeloRefusedToo) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 220 mx.test",
      "C: EHLO relay.test",
      "S: 500 what",
      "C: HELO relay.test",
      "S: 550 5.7.1 go away",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  }));
  EXPECT_EQ(d.result().error, "mx.test:587 HELO refused: 550 5.7.1 go away");
  EXPECT_EQ(d.replies(), (Lines{"451 4.4.0 mx.test:587 HELO refused: 550 5.7.1 go away"}));
}

TEST(SmtpClientSetup, EhloRefusedTemporarilyHasNoHeloFallback) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 220 mx.test",
      "C: EHLO relay.test",
      "S: 451 4.3.0 later",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  }));
  EXPECT_EQ(d.result().error, "mx.test:587 EHLO refused: 451 4.3.0 later");
}

TEST(SmtpClientSetup, StartTlsThenEhloAgain) {
  ClientDialog d{starttls_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"STARTTLS"}), {
      "C: STARTTLS",
      "S: 220 2.0.0 Ready to start TLS",
      "-- tls",
      "C: EHLO relay.test",
      "S: 250-mx.test",
      "S: 250 8BITMIME",
  })));
  ASSERT_TRUE(d.play(kOneMessage));
  EXPECT_EQ(d.replies(), (Lines{"250 2.0.0 Ok: queued"}));
  EXPECT_TRUE(d.protocol().capabilities().eight_bit_mime);
  EXPECT_FALSE(d.protocol().capabilities().starttls);  // what the server offers under TLS
}

TEST(SmtpClientSetup, StartTlsNotOfferedIsTemporaryAndNeverPlaintext) {
  ClientDialog d{starttls_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"PIPELINING"}), {
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.result().error, "upstream does not offer STARTTLS (mx.test:587)");
  EXPECT_EQ(d.replies(), (Lines{"451 4.7.10 upstream does not offer STARTTLS (mx.test:587)"}));
}

TEST(SmtpClientSetup, StartTlsRefused) {
  ClientDialog d{starttls_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"STARTTLS"}), {
      "C: STARTTLS",
      "S: 454 4.7.0 TLS not available",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.result().error, "mx.test:587 STARTTLS refused: 454 4.7.0 TLS not available");
  EXPECT_EQ(d.replies(), (Lines{"454 4.7.0 TLS not available"}));
}

TEST(SmtpClientSetup, DataAfterTheStartTlsReplyHangsUp) {
  // CVE-2011-0411 from the client side: a reply injected before the handshake.
  ClientDialog d{starttls_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"STARTTLS"}), {
      "C: STARTTLS",
      "S: 220 2.0.0 Ready to start TLS",
      "S: 250 injected",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.result().error, "mx.test:587 sent data after its STARTTLS reply");
  EXPECT_EQ(d.replies(), (Lines{"451 4.5.0 mx.test:587 sent data after its STARTTLS reply"}));
}

TEST(SmtpClientSetup, TlsHandshakeFailureHangsUp) {
  ClientDialog d{starttls_options()};
  d.begin(envelope({"a@x.test", "b@x.test"}));
  ASSERT_TRUE(d.play(then(greeted({"STARTTLS"}), {
      "C: STARTTLS",
      "S: 220 go",
      "-- tls fails: certificate verify failed (self-signed certificate)",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.result().error,
            "TLS handshake with mx.test:587 failed: certificate verify failed (self-signed certificate)");
  EXPECT_EQ(d.replies()[1],
            "451 4.7.5 TLS handshake with mx.test:587 failed: certificate verify failed (self-signed certificate)");
}

TEST(SmtpClientSetup, ImplicitTlsHandshakesBeforeTheGreeting) {
  auto options = plain_options();
  options.security = smtp_client::Security::ImplicitTls;
  ClientDialog d{options};
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "-- tls",
      "S: 220 mx.test",
      "C: EHLO relay.test",
      "S: 250 mx.test",
  }));
  ASSERT_TRUE(d.play(kOneMessage));
}

TEST(SmtpClientSetup, ImplicitTlsHandshakeFailure) {
  auto options = plain_options();
  options.security = smtp_client::Security::ImplicitTls;
  ClientDialog d{options};
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "-- tls fails: the server closed the connection",
      "-- done",
      "-- hang up",
  }));
  EXPECT_EQ(d.result().error, "TLS handshake with mx.test:587 failed: the server closed the connection");
}

TEST(SmtpClientSetup, AuthPlainAccepted) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"AUTH LOGIN PLAIN"}), {
      "C: AUTH PLAIN AHJlbGF5LXVzZXIAc2VjcmV0",  // base64("\0relay-user\0secret")
      "S: 235 2.7.0 Authentication successful",
  })));
  ASSERT_TRUE(d.play(kOneMessage));
  EXPECT_EQ(d.ready()->auth_mechanism, "PLAIN");
}

TEST(SmtpClientSetup, AuthPlainRefusedIsPermanentForEveryRecipient) {
  ClientDialog d{auth_options()};
  d.begin(envelope({"a@x.test", "b@x.test"}));
  ASSERT_TRUE(d.play(then(greeted({"AUTH PLAIN"}), {
      "C: AUTH PLAIN AHJlbGF5LXVzZXIAc2VjcmV0",
      "S: 535 5.7.8 Authentication credentials invalid",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.replies(), (Lines{"535 5.7.8 Authentication credentials invalid",
                                "535 5.7.8 Authentication credentials invalid"}));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Permanent, Outcome::Permanent}));
  EXPECT_EQ(d.result().error, "mx.test:587 AUTH PLAIN refused: 535 5.7.8 Authentication credentials invalid");
  EXPECT_EQ(d.result().recipients[0].reply, smtp::Reply::line(535, "5.7.8", "Authentication credentials invalid"));
}

TEST(SmtpClientSetup, AuthPlainUnexpectedChallengeIsCancelled) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"AUTH PLAIN"}), {
      "C: AUTH PLAIN AHJlbGF5LXVzZXIAc2VjcmV0",
      "S: 334 ",
      "C: *",
      "S: 501 5.0.0 cancelled",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.result().error, "mx.test:587 sent an unexpected AUTH PLAIN challenge");
  EXPECT_EQ(d.replies(), (Lines{"451 4.7.0 mx.test:587 sent an unexpected AUTH PLAIN challenge"}));
}

TEST(SmtpClientSetup, AuthLoginInThreeSteps) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"AUTH LOGIN"}), {
      "C: AUTH LOGIN",
      "S: 334 VXNlcm5hbWU6",
      "C: cmVsYXktdXNlcg==",
      "S: 334 UGFzc3dvcmQ6",
      "C: c2VjcmV0",
      "S: 235 2.7.0 ok",
  })));
  ASSERT_TRUE(d.play(kOneMessage));
  EXPECT_EQ(d.ready()->auth_mechanism, "LOGIN");
}

TEST(SmtpClientSetup, AuthLoginRefusedAtThePassword) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"AUTH=LOGIN"}), {
      "C: AUTH LOGIN",
      "S: 334 VXNlcm5hbWU6",
      "C: cmVsYXktdXNlcg==",
      "S: 334 UGFzc3dvcmQ6",
      "C: c2VjcmV0",
      "S: 535 5.7.8 no",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.result().error, "mx.test:587 AUTH LOGIN refused: 535 5.7.8 no");
}

TEST(SmtpClientSetup, AuthLoginAskingForMoreIsCancelled) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"AUTH LOGIN"}), {
      "C: AUTH LOGIN",
      "S: 334 VXNlcm5hbWU6",
      "C: cmVsYXktdXNlcg==",
      "S: 334 UGFzc3dvcmQ6",
      "C: c2VjcmV0",
      "S: 334 bW9yZQ==",
      "C: *",
      "S: 501 cancelled",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.result().error, "mx.test:587 AUTH LOGIN: unexpected reply 334 bW9yZQ==");
  EXPECT_EQ(d.replies(), (Lines{"451 4.5.0 mx.test:587 AUTH LOGIN: unexpected reply 334 bW9yZQ=="}));
}

TEST(SmtpClientSetup, AuthRefusedTemporarily) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"AUTH PLAIN"}), {
      "C: AUTH PLAIN AHJlbGF5LXVzZXIAc2VjcmV0",
      "S: 454 4.7.0 try later",
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Temporary}));
}

TEST(SmtpClientSetup, NoAuthOffered) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"8BITMIME"}), {
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.result().error, "upstream offers no AUTH (mx.test:587)");
  EXPECT_EQ(d.replies(), (Lines{"451 4.7.0 upstream offers no AUTH (mx.test:587)"}));
}

TEST(SmtpClientSetup, NeitherPlainNorLogin) {
  ClientDialog d{auth_options()};
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted({"AUTH CRAM-MD5 XOAUTH2"}), {
      "-- done",
      "C: QUIT",
      "S: 221 bye",
      "-- close",
  })));
  EXPECT_EQ(d.result().error, "upstream mx.test:587 offers neither AUTH PLAIN nor LOGIN (only CRAM-MD5 XOAUTH2)");
}

TEST(SmtpClientSetup, TimeoutWaitingForTheGreeting) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "-- timeout",
      "-- done",
      "-- hang up",
  }));
  EXPECT_EQ(d.result().error, "timed out waiting for a reply (mx.test:587)");
  EXPECT_EQ(d.replies(), (Lines{"451 4.4.2 timed out waiting for a reply (mx.test:587)"}));
}

TEST(SmtpClientSetup, ClosedWhileSendingEhlo) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 220 mx.test",
      "-- closed",
      "-- done",
      "-- hang up",
  }));
  EXPECT_EQ(d.result().error, "mx.test:587 closed the connection while sending a command");
}

}  // namespace
