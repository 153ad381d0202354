// The POP3 login client (server/pop3_client) as scripted dialogs, one per edge case: greeting,
// CAPA, STLS and implicit TLS, AUTH PLAIN and USER/PASS, refusals, I/O failures and a server
// that speaks garbage; then the response reader and the capability list on their own.
//
// A script has one entry per line of the conversation:
//   "S: +OK ready"       the server sends this line (CRLF added); lines queue up until the
//                        client reads, so consecutive ones arrive in one read
//   "C: CAPA"            the client writes this line next
//   "-- connect", "-- connect fails: T"   the client asks to connect; it opens, or fails with T
//   "-- tls", "-- tls fails: D"           the client asks for the TLS handshake; ok, or fails
//   "-- closed", "-- timeout", "-- reset" the write or read in progress fails so
//   "-- done"            the login's outcome is handed over (result() holds it)
//   "-- close", "-- hang up"              the client closes politely, or hangs up
#include "server/pop3_client/protocol.hpp"
#include "server/smtp/base64.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace pop3_client;
using Lines = std::vector<std::string>;

constexpr std::string_view kPlainToken = "AHBvcC11c2VyAHBvcC1zZWNyZXQ=";  // \0pop-user\0pop-secret

LoginOptions options(Security security) {
  LoginOptions o;
  o.peer = security == Security::ImplicitTls ? "pop.test:995" : "pop.test:110";
  o.security = security;
  o.username = "pop-user";
  o.password = "pop-secret";
  return o;
}

std::string describe(const Step& step) {
  if (const auto* send = std::get_if<SendCommand>(&step)) return "SendCommand \"" + send->bytes + "\"";
  if (std::holds_alternative<ReadResponse>(step)) return "ReadResponse";
  if (std::holds_alternative<Connect>(step)) return "Connect";
  if (std::holds_alternative<TlsHandshake>(step)) return "TlsHandshake";
  if (std::holds_alternative<LoginDone>(step)) return "LoginDone";
  return std::get<Close>(step).polite ? "Close (polite)" : "Close (hang up)";
}

class Dialog {
 public:
  explicit Dialog(LoginOptions o) : protocol_(std::move(o)) {}

  ::testing::AssertionResult play(const Lines& script) {
    std::size_t index = 0;
    for (std::string_view entry : script) {
      ++index;
      const std::string problem = play_one(entry);
      if (!problem.empty()) {
        return ::testing::AssertionFailure() << "script line " << index << " \"" << entry << "\": " << problem;
      }
    }
    pump();
    if (!lines_.empty()) return ::testing::AssertionFailure() << "the client also wrote \"" << lines_.front() << "\"";
    return ::testing::AssertionSuccess();
  }

  const LoginResult& result() const { return result_; }
  int results() const { return results_; }
  const std::vector<std::uint64_t>& reads() const { return reads_; }
  Protocol& protocol() { return protocol_; }

 private:
  std::string play_one(std::string_view entry) {
    if (entry.starts_with("S: ")) {
      server_ += std::string(entry.substr(3)) + "\r\n";
      return "";
    }
    if (entry.starts_with("C: ")) {
      pump();
      if (lines_.empty()) return "the client waits: " + (held_ ? describe(*held_) : std::string("?"));
      std::string line = std::move(lines_.front());
      lines_.pop_front();
      return line == entry.substr(3) ? "" : "the client wrote \"" + line + "\"";
    }
    if (entry == "-- closed" || entry == "-- timeout" || entry == "-- reset") return fail_io(entry);
    pump();
    if (!lines_.empty()) return "the client wrote \"" + lines_.front() + "\"";
    if (!held_) return "the client does nothing";
    const Step step = *std::exchange(held_, std::nullopt);
    return answer(entry, step);
  }

  std::string answer(std::string_view entry, const Step& step) {
    const auto expect = [&](bool ok) { return ok ? std::string() : "the client wants " + describe(step); };
    const auto after = [&](std::string_view prefix) { return std::string(entry.substr(prefix.size())); };
    if (entry == "-- connect") {
      if (!std::holds_alternative<Connect>(step)) return expect(false);
      protocol_.connected();
    } else if (entry.starts_with("-- connect fails: ")) {
      if (!std::holds_alternative<Connect>(step)) return expect(false);
      protocol_.connect_failed(after("-- connect fails: "));
    } else if (entry == "-- tls") {
      if (!std::holds_alternative<TlsHandshake>(step)) return expect(false);
      protocol_.tls_started();
    } else if (entry.starts_with("-- tls fails: ")) {
      if (!std::holds_alternative<TlsHandshake>(step)) return expect(false);
      protocol_.tls_failed(after("-- tls fails: "));
    } else if (entry == "-- done") {
      const auto* done = std::get_if<LoginDone>(&step);
      if (done == nullptr) return expect(false);
      result_ = done->result;
      ++results_;
    } else if (entry == "-- close" || entry == "-- hang up") {
      const auto* close = std::get_if<Close>(&step);
      if (close == nullptr || close->polite != (entry == "-- close")) return expect(false);
      // Close comes again on every later call.
      if (protocol_.next() != step) return "Close did not repeat";
    } else {
      return "unknown script entry";
    }
    return "";
  }

  std::string fail_io(std::string_view entry) {
    if (lines_.empty()) {
      pump();
      if (lines_.empty() && !(held_ && std::holds_alternative<ReadResponse>(*held_))) {
        return "the client does no I/O: " + (held_ ? describe(*held_) : std::string("?"));
      }
    }
    lines_.clear();
    held_.reset();
    if (entry == "-- closed") protocol_.connection_failed(IoFailure::Closed);
    else if (entry == "-- timeout") protocol_.connection_failed(IoFailure::Timeout);
    else protocol_.connection_failed(IoFailure::Error, "Connection reset by peer");
    return "";
  }

  // Runs the client until it wrote something or waits for what the script has not given yet.
  void pump() {
    for (int steps = 0; steps < 10000 && lines_.empty(); ++steps) {
      if (held_) {
        if (!std::holds_alternative<ReadResponse>(*held_) || server_.empty()) return;
        held_.reset();
        protocol_.receive(std::exchange(server_, std::string()));
      }
      Step step = protocol_.next();
      if (const auto* send = std::get_if<SendCommand>(&step)) {
        EXPECT_TRUE(send->bytes.ends_with("\r\n")) << send->bytes;
        lines_.push_back(send->bytes.substr(0, send->bytes.size() - 2));
      } else {
        if (const auto* read = std::get_if<ReadResponse>(&step)) reads_.push_back(read->response_number);
        held_ = std::move(step);
      }
    }
  }

  Protocol protocol_;
  std::string server_;             // sent by the server, not read yet
  std::deque<std::string> lines_;  // written by the client, not matched yet
  std::optional<Step> held_;       // what the client waits on
  LoginResult result_;
  int results_ = 0;
  std::vector<std::uint64_t> reads_;
};

// script, then more.
Lines then(Lines script, const Lines& more) {
  script.insert(script.end(), more.begin(), more.end());
  return script;
}

// Implicit TLS up to the CAPA command.
const Lines kImplicitGreeted = {"-- connect", "-- tls", "S: +OK Dovecot ready.", "C: CAPA"};
// A plain session up to the CAPA command.
const Lines kPlainGreeted = {"-- connect", "S: +OK Dovecot ready.", "C: CAPA"};
// A CAPA list offering USER and SASL PLAIN, as Dovecot sends it under TLS.
const Lines kCapaPlain = {"S: +OK", "S: CAPA", "S: TOP", "S: UIDL", "S: RESP-CODES", "S: PIPELINING",
                          "S: AUTH-RESP-CODE", "S: USER", "S: SASL PLAIN LOGIN", "S: ."};
const Lines kCapaUserOnly = {"S: +OK", "S: CAPA", "S: USER", "S: ."};
const Lines kQuit = {"C: QUIT", "S: +OK Logging out.", "-- close"};

void expect_logged_in(const Dialog& d, std::string_view mechanism) {
  EXPECT_EQ(d.result().outcome, LoginOutcome::LoggedIn);
  EXPECT_TRUE(d.result().logged_in());
  EXPECT_EQ(d.result().mechanism, mechanism);
  EXPECT_EQ(d.result().text, "");
  EXPECT_EQ(d.results(), 1);
}

void expect_failed(const Dialog& d, std::string_view text, std::string_view reply = "") {
  EXPECT_EQ(d.result().outcome, LoginOutcome::Failed);
  EXPECT_FALSE(d.result().logged_in());
  EXPECT_EQ(d.result().text, text);
  EXPECT_EQ(d.result().reply, reply);
  EXPECT_EQ(d.results(), 1);
}

// ---- logging in ----

TEST(Pop3Client, ImplicitTlsWithSaslPlain) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain),
                          then({"C: AUTH PLAIN " + std::string(kPlainToken), "S: +OK Logged in.", "-- done"}, kQuit))));
  expect_logged_in(d, "PLAIN");
  EXPECT_EQ(d.result().reply, "+OK Logged in.");
  EXPECT_TRUE(d.protocol().capabilities().known);
  EXPECT_TRUE(d.protocol().capabilities().user);
  EXPECT_EQ(d.protocol().capabilities().sasl, (Lines{"PLAIN", "LOGIN"}));
}

TEST(Pop3Client, StlsThenCapaAgainThenUserAndPass) {
  // Dovecot with plaintext logins disabled: before TLS neither USER nor a mechanism is offered.
  Dialog d(options(Security::StartTls));
  ASSERT_TRUE(d.play(then(kPlainGreeted, {
                                             "S: +OK",
                                             "S: CAPA",
                                             "S: STLS",
                                             "S: SASL",
                                             "S: .",
                                             "C: STLS",
                                             "S: +OK Begin TLS negotiation now.",
                                             "-- tls",
                                             "C: CAPA",
                                             "S: +OK",
                                             "S: CAPA",
                                             "S: USER",
                                             "S: .",
                                             "C: USER pop-user",
                                             "S: +OK",
                                             "C: PASS pop-secret",
                                             "S: +OK Logged in.",
                                             "-- done",
                                             "C: QUIT",
                                             "S: +OK Logging out.",
                                             "-- close",
                                         })));
  expect_logged_in(d, "USER");
  EXPECT_FALSE(d.protocol().capabilities().stls);  // the list after TLS replaced the first
}

TEST(Pop3Client, StlsThenSaslPlain) {
  Dialog d(options(Security::StartTls));
  ASSERT_TRUE(d.play(then(then(kPlainGreeted, {"S: +OK", "S: STLS", "S: .", "C: STLS", "S: +OK", "-- tls", "C: CAPA"}),
                          then(kCapaPlain, then({"C: AUTH PLAIN " + std::string(kPlainToken), "S: +OK", "-- done"},
                                                kQuit)))));
  expect_logged_in(d, "PLAIN");
}

TEST(Pop3Client, PlainSessionWithUserAndPass) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play(then(then(kPlainGreeted, kCapaUserOnly),
                          then({"C: USER pop-user", "S: +OK", "C: PASS pop-secret", "S: +OK", "-- done"}, kQuit))));
  expect_logged_in(d, "USER");
  EXPECT_EQ(d.result().reply, "+OK");
}

TEST(Pop3Client, ServerWithoutCapaGetsUserAndPass) {
  // RFC 1939 servers know no CAPA (RFC 2449): USER/PASS is all there is.
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(kImplicitGreeted, then({"S: -ERR unknown command", "C: USER pop-user", "S: +OK",
                                                  "C: PASS pop-secret", "S: +OK maildrop locked", "-- done"},
                                                 kQuit))));
  expect_logged_in(d, "USER");
  EXPECT_FALSE(d.protocol().capabilities().known);
}

TEST(Pop3Client, SaslPlainIsPreferredToUser) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(kImplicitGreeted, {"S: +OK", "S: USER", "S: sasl login plain", "S: .",
                                             "C: AUTH PLAIN " + std::string(kPlainToken)})));
}

TEST(Pop3Client, LongCredentialsWaitForTheChallenge) {
  // "AUTH PLAIN <response>" would pass 255 octets (RFC 2449 §4): the response follows "+ ".
  LoginOptions o = options(Security::ImplicitTls);
  o.username = std::string(200, 'u');
  const std::string token = smtp::base64_encode(std::string(1, '\0') + o.username + '\0' + o.password);
  Dialog d(o);
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain),
                          then({"C: AUTH PLAIN", "S: + ", "C: " + token, "S: +OK Logged in.", "-- done"}, kQuit))));
  expect_logged_in(d, "PLAIN");
}

TEST(Pop3Client, ChallengeWithoutTextIsAccepted) {
  LoginOptions o = options(Security::ImplicitTls);
  o.username = std::string(200, 'u');
  Dialog d(o);
  const std::string token = smtp::base64_encode(std::string(1, '\0') + o.username + '\0' + o.password);
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain), {"C: AUTH PLAIN", "S: +", "C: " + token})));
}

// ---- refused logins ----

TEST(Pop3Client, WrongPasswordIsRefusedWithTheServersReply) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaUserOnly),
                          then({"C: USER pop-user", "S: +OK", "C: PASS pop-secret",
                                "S: -ERR [AUTH] Authentication failed.", "-- done"},
                               kQuit))));
  EXPECT_EQ(d.result().outcome, LoginOutcome::Refused);
  EXPECT_EQ(d.result().mechanism, "USER");
  EXPECT_EQ(d.result().reply, "-ERR [AUTH] Authentication failed.");
  EXPECT_EQ(d.result().text, "POP3 login to pop.test:995 refused: -ERR [AUTH] Authentication failed.");
  EXPECT_EQ(d.result().text.find("pop-secret"), std::string::npos);
}

TEST(Pop3Client, SaslPlainRefused) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain),
                          then({"C: AUTH PLAIN " + std::string(kPlainToken), "S: -ERR [AUTH] Authentication failed.",
                                "-- done"},
                               kQuit))));
  EXPECT_EQ(d.result().outcome, LoginOutcome::Refused);
  EXPECT_EQ(d.result().mechanism, "PLAIN");
  EXPECT_EQ(d.result().reply, "-ERR [AUTH] Authentication failed.");
}

TEST(Pop3Client, UserRefusedSendsNoPassword) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play(then(then(kPlainGreeted, kCapaUserOnly),
                          then({"C: USER pop-user",
                                "S: -ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.",
                                "-- done"},
                               kQuit))));
  EXPECT_EQ(d.result().outcome, LoginOutcome::Refused);
  EXPECT_EQ(d.result().text,
            "POP3 login to pop.test:110 refused: -ERR [AUTH] Plaintext authentication disallowed on non-secure "
            "(SSL/TLS) connections.");
}

TEST(Pop3Client, RefusalTextShowsOnlyPrintableAscii) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain), {"C: AUTH PLAIN " + std::string(kPlainToken),
                                                               "S: -ERR Zugang verweigert \xc3\xbc\x1b[31m", "-- done",
                                                               "C: QUIT"})));
  EXPECT_EQ(d.result().reply, "-ERR Zugang verweigert ???[31m");
}

TEST(Pop3Client, CredentialsEchoedByTheServerAreHidden) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaUserOnly),
                          {"C: USER pop-user", "S: +OK", "C: PASS pop-secret",
                           "S: -ERR unknown command: PASS pop-secret", "-- done", "C: QUIT"})));
  EXPECT_EQ(d.result().reply, "-ERR unknown command: PASS ***");
  Dialog plain(options(Security::ImplicitTls));
  ASSERT_TRUE(plain.play(then(then(kImplicitGreeted, kCapaPlain),
                              {"C: AUTH PLAIN " + std::string(kPlainToken),
                               "S: -ERR what is AUTH PLAIN " + std::string(kPlainToken) + "?", "-- done", "C: QUIT"})));
  EXPECT_EQ(plain.result().reply, "-ERR what is AUTH PLAIN ***?");
  Dialog garbage(options(Security::ImplicitTls));
  ASSERT_TRUE(garbage.play({"-- connect", "-- tls", "S: pop-secret", "-- done", "-- hang up"}));
  EXPECT_EQ(garbage.result().text, "protocol error from pop.test:995: malformed response \"***\"");
}

// ---- failures that are not a refusal ----

TEST(Pop3Client, StlsRequiredButNotOffered) {
  Dialog d(options(Security::StartTls));
  ASSERT_TRUE(d.play(then(then(kPlainGreeted, kCapaUserOnly), then({"-- done"}, kQuit))));
  expect_failed(d, "POP3 server pop.test:110 does not offer STLS");
  EXPECT_EQ(d.result().mechanism, "");
}

TEST(Pop3Client, NoCapaMeansNoStls) {
  Dialog d(options(Security::StartTls));
  ASSERT_TRUE(d.play(then(kPlainGreeted, then({"S: -ERR no CAPA here", "-- done"}, kQuit))));
  expect_failed(d, "POP3 server pop.test:110 does not offer STLS");
}

TEST(Pop3Client, StlsRefused) {
  Dialog d(options(Security::StartTls));
  ASSERT_TRUE(d.play(then(then(kPlainGreeted, {"S: +OK", "S: STLS", "S: ."}),
                          then({"C: STLS", "S: -ERR TLS not available now", "-- done"}, kQuit))));
  expect_failed(d, "POP3 server pop.test:110 refused STLS: -ERR TLS not available now", "-ERR TLS not available now");
}

TEST(Pop3Client, DataAfterTheStlsResponseHangsUp) {
  // CVE-2011-0411 from the client side: a line injected before the handshake.
  Dialog d(options(Security::StartTls));
  ASSERT_TRUE(d.play(then(kPlainGreeted, {"S: +OK", "S: STLS", "S: .", "C: STLS", "S: +OK", "S: +OK Logged in.",
                                          "-- done", "-- hang up"})));
  expect_failed(d, "POP3 server pop.test:110 sent data after its STLS response");
}

TEST(Pop3Client, TlsHandshakeFailure) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play({"-- connect", "-- tls fails: certificate verify failed (self-signed certificate)", "-- done",
                      "-- hang up"}));
  expect_failed(d, "TLS handshake with pop.test:995 failed: certificate verify failed (self-signed certificate)");
}

TEST(Pop3Client, StlsHandshakeFailure) {
  Dialog d(options(Security::StartTls));
  ASSERT_TRUE(d.play(then(kPlainGreeted, {"S: +OK", "S: STLS", "S: .", "C: STLS", "S: +OK",
                                          "-- tls fails: hostname mismatch", "-- done", "-- hang up"})));
  expect_failed(d, "TLS handshake with pop.test:110 failed: hostname mismatch");
}

TEST(Pop3Client, ConnectFailureIsUsedAsIs) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play({"-- connect fails: connect to pop.test:995 failed: Connection refused", "-- done", "-- hang up"}));
  expect_failed(d, "connect to pop.test:995 failed: Connection refused");
}

TEST(Pop3Client, GreetingRefused) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play({"-- connect", "S: -ERR [SYS/TEMP] too many connections", "-- done", "-- hang up"}));
  expect_failed(d, "POP3 server pop.test:110 refused the session: -ERR [SYS/TEMP] too many connections",
                "-ERR [SYS/TEMP] too many connections");
}

TEST(Pop3Client, NeitherSaslPlainNorUser) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(kImplicitGreeted,
                          then({"S: +OK", "S: SASL CRAM-MD5 GSSAPI", "S: TOP", "S: .", "-- done"}, kQuit))));
  expect_failed(d, "POP3 server pop.test:995 offers neither SASL PLAIN nor USER (only SASL CRAM-MD5 GSSAPI)");
}

TEST(Pop3Client, NothingToLogInWith) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(kImplicitGreeted, then({"S: +OK", "S: TOP", "S: .", "-- done"}, kQuit))));
  expect_failed(d, "POP3 server pop.test:995 offers neither SASL PLAIN nor USER");
}

TEST(Pop3Client, UnexpectedChallengeIsCancelled) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain),
                          then({"C: AUTH PLAIN " + std::string(kPlainToken), "S: + more please", "C: *",
                                "S: -ERR [AUTH] Authentication aborted", "-- done"},
                               kQuit))));
  expect_failed(d, "POP3 server pop.test:995 sent an unexpected AUTH PLAIN challenge");
  EXPECT_EQ(d.result().mechanism, "PLAIN");
}

TEST(Pop3Client, OkBeforeTheCredentialsIsNotTrusted) {
  LoginOptions o = options(Security::ImplicitTls);
  o.username = std::string(200, 'u');
  Dialog d(o);
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain), {"C: AUTH PLAIN", "S: +OK", "-- done", "-- hang up"})));
  expect_failed(d, "protocol error from pop.test:995: +OK to AUTH PLAIN before the credentials");
}

TEST(Pop3Client, ChallengeOutsideAuthIsMalformed) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(kImplicitGreeted, {"S: + hello", "-- done", "-- hang up"})));
  expect_failed(d, "protocol error from pop.test:995: malformed response \"+ hello\"");
}

TEST(Pop3Client, MalformedGreeting) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play({"-- connect", "S: 220 smtp.test ESMTP", "-- done", "-- hang up"}));
  expect_failed(d, "protocol error from pop.test:110: malformed response \"220 smtp.test ESMTP\"");
}

TEST(Pop3Client, StatusMustStandAlone) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play({"-- connect", "S: +OKAY", "-- done", "-- hang up"}));
  expect_failed(d, "protocol error from pop.test:110: malformed response \"+OKAY\"");
}

TEST(Pop3Client, OverlongLine) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play({"-- connect", "S: +OK " + std::string(5000, 'x'), "-- done", "-- hang up"}));
  expect_failed(d, "protocol error from pop.test:110: response line longer than 4096 bytes");
}

TEST(Pop3Client, BareLineFeed) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play({"-- connect", "S: +OK hi\nCAPA", "-- done", "-- hang up"}));
  expect_failed(d, "protocol error from pop.test:110: bare CR or LF in a response line");
}

TEST(Pop3Client, NulByte) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play({"-- connect", std::string("S: +OK hi\0there", 15), "-- done", "-- hang up"}));
  expect_failed(d, "protocol error from pop.test:110: NUL byte in a response line");
}

TEST(Pop3Client, EndlessCapaList) {
  Lines script = then(kImplicitGreeted, {"S: +OK"});
  for (int i = 0; i < 257; ++i) script.push_back("S: X-CAP-" + std::to_string(i));
  script.push_back("-- done");
  script.push_back("-- hang up");
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(script));
  expect_failed(d, "protocol error from pop.test:995: CAPA list longer than 256 lines");
}

TEST(Pop3Client, CapaLinesAreUnstuffedAndCaseInsensitive) {
  Dialog d(options(Security::None));
  ASSERT_TRUE(d.play(then(kPlainGreeted, {"S: +OK Capability list follows", "S: ..hidden", "S: Sasl Login",
                                          "S: SASL plain  login", "S: user", "S: .", "C: AUTH PLAIN " +
                                          std::string(kPlainToken)})));
  const Capabilities& c = d.protocol().capabilities();
  EXPECT_TRUE(c.user);
  EXPECT_EQ(c.sasl, (Lines{"LOGIN", "PLAIN"}));
}

// ---- I/O failures ----

TEST(Pop3Client, TimeoutWaitingForAResponse) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play({"-- connect", "-- tls", "-- timeout", "-- done", "-- hang up"}));
  expect_failed(d, "timed out waiting for a response (pop.test:995)");
}

TEST(Pop3Client, ClosedWhileSending) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play({"-- connect", "-- tls", "S: +OK", "-- closed", "-- done", "-- hang up"}));
  expect_failed(d, "pop.test:995 closed the connection while sending a command");
}

TEST(Pop3Client, ResetWhileWaiting) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(kImplicitGreeted, {"-- reset", "-- done", "-- hang up"})));
  expect_failed(d, "connection to pop.test:995 failed while waiting for a response: Connection reset by peer");
}

TEST(Pop3Client, FailureAfterTheLoginIsNotASecondResult) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain), {"C: AUTH PLAIN " + std::string(kPlainToken),
                                                               "S: +OK Logged in.", "-- done", "C: QUIT",
                                                               "-- timeout", "-- hang up"})));
  expect_logged_in(d, "PLAIN");
}

TEST(Pop3Client, GarbageAfterTheLoginIsNotASecondResult) {
  Dialog d(options(Security::ImplicitTls));
  ASSERT_TRUE(d.play(then(then(kImplicitGreeted, kCapaPlain), {"C: AUTH PLAIN " + std::string(kPlainToken),
                                                               "S: +OK Logged in.", "-- done", "C: QUIT", "S: bye",
                                                               "-- hang up"})));
  expect_logged_in(d, "PLAIN");
}

// ---- options refused before connecting ----

TEST(Pop3Client, LineBreakInCredentialsNeverConnects) {
  for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
           {"pop-user\r\nDELE 1", "pw"}, {"pop-user", "pw\nQUIT"}, {"pop-user", std::string("pw\0x", 4)}}) {
    LoginOptions o = options(Security::ImplicitTls);
    o.username = user;
    o.password = password;
    Dialog d(o);
    ASSERT_TRUE(d.play({"-- done", "-- hang up"}));
    expect_failed(d, "the POP3 username or password for pop.test:995 holds a line break or NUL");
  }
}

TEST(Pop3Client, NoUsernameNeverConnects) {
  LoginOptions o = options(Security::ImplicitTls);
  o.username.clear();
  Dialog d(o);
  ASSERT_TRUE(d.play({"-- done", "-- hang up"}));
  expect_failed(d, "no POP3 username for pop.test:995");
}

// ---- reading ----

TEST(Pop3Client, ResponsesArriveInAnyPieces) {
  const std::string server =
      "+OK ready\r\n+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n+OK Logged in.\r\n+OK bye\r\n";
  Protocol p(options(Security::None));
  std::vector<std::uint64_t> numbers;
  Lines writes;
  std::optional<LoginResult> result;
  std::size_t pos = 0;
  for (int steps = 0; steps < 1000; ++steps) {
    const Step step = p.next();
    if (std::holds_alternative<Connect>(step)) {
      p.connected();
    } else if (const auto* read = std::get_if<ReadResponse>(&step)) {
      ASSERT_LT(pos, server.size());
      numbers.push_back(read->response_number);
      p.receive(server.substr(pos++, 1));
    } else if (const auto* send = std::get_if<SendCommand>(&step)) {
      writes.push_back(send->bytes);
    } else if (const auto* done = std::get_if<LoginDone>(&step)) {
      result = done->result;
    } else {
      ASSERT_EQ(step, Step{Close{true}});
      break;
    }
  }
  EXPECT_EQ(writes, (Lines{"CAPA\r\n", "AUTH PLAIN " + std::string(kPlainToken) + "\r\n", "QUIT\r\n"}));
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->logged_in());
  // One number per response, the CAPA list with its lines being one: greeting, CAPA, AUTH, QUIT.
  std::vector<std::uint64_t> distinct;
  for (const auto n : numbers) {
    if (distinct.empty() || distinct.back() != n) distinct.push_back(n);
  }
  EXPECT_EQ(distinct, (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(pos, server.size());
}

TEST(Pop3ClientResponses, StatusOfALine) {
  EXPECT_EQ(status_of("+OK"), Status::Ok);
  EXPECT_EQ(status_of("+OK Dovecot ready."), Status::Ok);
  EXPECT_EQ(status_of("-ERR"), Status::Err);
  EXPECT_EQ(status_of("-ERR [AUTH] Authentication failed."), Status::Err);
  EXPECT_EQ(status_of("+"), Status::Continue);
  EXPECT_EQ(status_of("+ "), Status::Continue);
  EXPECT_EQ(status_of("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"), Status::Continue);
  EXPECT_EQ(status_of(""), std::nullopt);
  EXPECT_EQ(status_of("+OKAY"), std::nullopt);
  EXPECT_EQ(status_of("-ERROR"), std::nullopt);
  EXPECT_EQ(status_of("+ok"), std::nullopt);
  EXPECT_EQ(status_of("OK"), std::nullopt);
  EXPECT_EQ(status_of("-"), std::nullopt);
}

TEST(Pop3ClientResponses, PrintableIsBoundedAscii) {
  EXPECT_EQ(printable("-ERR plain"), "-ERR plain");
  EXPECT_EQ(printable("a\tb\x7f\xff"), "a?b??");
  EXPECT_EQ(printable(std::string(600, 'x')).size(), 512u);
}

TEST(Pop3ClientResponses, ReaderKeepsWhatItHasNotReturned) {
  ResponseReader r;
  r.feed("+OK one\r\n+OK tw");
  EXPECT_EQ(r.next(), "+OK one");
  EXPECT_TRUE(r.has_pending());
  EXPECT_EQ(r.next(), std::nullopt);
  r.feed("o\r\n");
  EXPECT_EQ(r.next(), "+OK two");
  EXPECT_FALSE(r.has_pending());
  EXPECT_FALSE(r.failed());
}

TEST(Pop3ClientResponses, ReaderFailsForGood) {
  ResponseReader r;
  r.feed("+OK\rx\r\n");
  EXPECT_EQ(r.next(), std::nullopt);
  EXPECT_TRUE(r.failed());
  r.feed("+OK\r\n");
  EXPECT_EQ(r.next(), std::nullopt);
  EXPECT_EQ(r.error(), "bare CR or LF in a response line");
}

TEST(Pop3ClientCapabilities, Lines) {
  Capabilities c;
  c.add("STLS");
  c.add("user");
  c.add("SASL");
  c.add("SASL plain PLAIN Login");
  c.add("IMPLEMENTATION Dovecot SASL USER STLS");
  c.add("");
  EXPECT_TRUE(c.stls);
  EXPECT_TRUE(c.user);
  EXPECT_EQ(c.sasl, (Lines{"PLAIN", "LOGIN"}));
  EXPECT_TRUE(c.offers_sasl("plain"));
  EXPECT_FALSE(c.offers_sasl("CRAM-MD5"));
  EXPECT_FALSE(c.known);  // the protocol sets it when CAPA answers +OK
}

TEST(Pop3ClientCapabilities, MechanismListIsBounded) {
  Capabilities c;
  std::string line = "SASL";
  for (int i = 0; i < 100; ++i) line += " M" + std::to_string(i);
  c.add(line);
  EXPECT_EQ(c.sasl.size(), 32u);
}

}  // namespace
