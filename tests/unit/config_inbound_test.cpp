// postern.yaml for catch-all intake: inbound and LMTP listeners, journal upstreams (hpfeeds,
// amqp), routes by recipient domain and fan-out routes.
#include "tests/unit/config_test_support.hpp"

namespace postern::config {
namespace {

using namespace test_support;

const Environment kSecrets = environment({{"HPF_SECRET", "s3cret-hpf"}, {"AMQP_PW", "s3cret-amqp"}});

const std::string kJournals =
    "upstreams:\n"
    "  - name: feed\n"
    "    kind: hpfeeds\n"
    "    host: broker.example\n"
    "    ident: collector\n"
    "    secret_env: HPF_SECRET\n"
    "    channels: [spam.mails, spam.raw]\n"
    "  - name: rabbit\n"
    "    kind: amqp\n"
    "    host: rabbit.example\n"
    "    username: postern\n"
    "    password_env: AMQP_PW\n"
    "  - name: backup\n"
    "    kind: maildir\n"
    "    path: /srv/backup\n"
    "default_upstream: backup\n";

TEST(ConfigInbound, ListenersDefaultToSubmission) {
  const Config c = parse(kMinimal);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].kind, ListenerKind::Smtp);
  EXPECT_EQ(c.listeners[0].role, ListenerRole::Submission);
  EXPECT_TRUE(c.listeners[0].dsn);
  EXPECT_TRUE(c.listeners[0].accept_domains.empty());
}

TEST(ConfigInbound, InboundListenerTakesPort25AndNoDsnByDefault) {
  const Config c = parse(kMinimal + "listeners:\n  - role: inbound\n    accept_domains: [Trap.Example, \"b\xc3\xbc" "cher.example\"]\n");
  const ListenerConfig& l = c.listeners.at(0);
  EXPECT_EQ(l.role, ListenerRole::Inbound);
  EXPECT_EQ(l.port, 25);
  EXPECT_EQ(l.address, "0.0.0.0");
  EXPECT_FALSE(l.dsn);
  EXPECT_EQ(l.accept_domains, (std::vector<std::string>{"trap.example", "xn--bcher-kva.example"}));
  EXPECT_TRUE(parse(kMinimal + "listeners:\n  - { role: inbound, accept_domains: [t.example], dsn: true }\n")
                  .listeners.at(0)
                  .dsn);
}

TEST(ConfigInbound, LmtpListenerIsInboundOnLoopbackPort24) {
  const Config c = parse(kMinimal + "listeners:\n  - { kind: lmtp, accept_domains: [trap.example] }\n");
  const ListenerConfig& l = c.listeners.at(0);
  EXPECT_EQ(l.kind, ListenerKind::Lmtp);
  EXPECT_EQ(l.role, ListenerRole::Inbound);
  EXPECT_EQ(l.address, "127.0.0.1");
  EXPECT_EQ(l.port, 24);
  EXPECT_FALSE(l.dsn);
  const Config unix_socket =
      parse(kMinimal + "listeners:\n  - { kind: lmtp, path: /run/postern/lmtp.sock, accept_domains: [t.example] }\n");
  EXPECT_EQ(unix_socket.listeners.at(0).path, "/run/postern/lmtp.sock");
}

TEST(ConfigInbound, ListenerErrorsNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{ role: inbound }", "listeners[0].accept_domains: required with role: inbound and kind: lmtp"},
      {"{ kind: lmtp }", "listeners[0].accept_domains: required with role: inbound and kind: lmtp"},
      {"{ accept_domains: [t.example] }", "listeners[0].accept_domains: not allowed with role: submission"},
      {"{ kind: lmtp, role: submission, accept_domains: [t.example] }",
       "listeners[0].role: submission is not allowed with kind: lmtp (LMTP is inbound only)"},
      {"{ kind: lmtp, tls: implicit, accept_domains: [t.example] }", "listeners[0].tls: not allowed with kind: lmtp"},
      {"{ kind: lmtp, path: lmtp.sock, accept_domains: [t.example] }",
       "listeners[0].path: expected an absolute path, got \"lmtp.sock\""},
      {"{ kind: lmtp, path: /run/l.sock, port: 24, accept_domains: [t.example] }",
       "listeners[0].port: cannot be combined with path (a unix socket)"},
      {"{ path: /run/l.sock }", "listeners[0].path: not allowed with kind: smtp (a unix socket is for kind: lmtp)"},
      {"{ role: inbound, allow_plaintext_auth_on_loopback: true, accept_domains: [t.example] }",
       "listeners[0].allow_plaintext_auth_on_loopback: not allowed with role: inbound (no AUTH there)"},
      {"{ role: inbound, accept_domains: [\"not a domain\"] }", ""},
      {"{ role: relay }", "listeners[0].role: expected one of submission, inbound, got \"relay\""},
      {"{ kind: pop3 }", "listeners[0].kind: expected one of smtp, lmtp, got \"pop3\""},
  };
  for (const auto& [listener, error] : cases) {
    SCOPED_TRACE(listener);
    const std::string got = error_of(kMinimal + "listeners:\n  - " + listener + "\n");
    if (error.empty()) {
      EXPECT_TRUE(got.starts_with("postern.yaml:4: listeners[0].accept_domains: \"not a domain\"")) << got;
    } else {
      EXPECT_EQ(got, "postern.yaml:4: " + error);
    }
  }
}

TEST(ConfigInbound, JournalUpstreamsAreParsed) {
  const Config c = parse(kMinimal + kJournals, kSecrets);
  const delivery::Upstream& feed = c.delivery.upstreams.at(0);
  EXPECT_EQ(feed.kind, delivery::UpstreamKind::Hpfeeds);
  EXPECT_EQ(feed.security, delivery::UpstreamSecurity::Tls);  // secure by default
  EXPECT_EQ(feed.port, 10000);
  EXPECT_EQ(feed.hpfeeds.ident, "collector");
  EXPECT_EQ(feed.hpfeeds.secret, "s3cret-hpf");
  EXPECT_EQ(feed.hpfeeds.channels, (std::vector<std::string>{"spam.mails", "spam.raw"}));
  EXPECT_EQ(feed.hpfeeds.format, delivery::JournalFormat::Json);
  EXPECT_EQ(feed.hpfeeds.max_frame_bytes, 5u + 1024 * 1024);
  EXPECT_EQ(feed.hpfeeds.error_grace_milliseconds, 200u);
  const delivery::Upstream& rabbit = c.delivery.upstreams.at(1);
  EXPECT_EQ(rabbit.kind, delivery::UpstreamKind::Amqp);
  EXPECT_EQ(rabbit.port, 5671);
  EXPECT_EQ(rabbit.password, "s3cret-amqp");
  EXPECT_EQ(rabbit.amqp.vhost, "/");
  EXPECT_EQ(rabbit.amqp.exchange, "spam");
  EXPECT_EQ(rabbit.amqp.exchange_type, "topic");
  EXPECT_EQ(rabbit.amqp.routing_key, "spam.mails");
  EXPECT_TRUE(rabbit.amqp.persistent);
  EXPECT_TRUE(rabbit.amqp.mandatory);
  EXPECT_TRUE(rabbit.amqp.declare_exchange);
  EXPECT_EQ(rabbit.amqp.format, delivery::JournalFormat::Raw);
}

TEST(ConfigInbound, JournalKeysAreRead) {
  const Config c = parse(kMinimal +
                             "upstreams:\n"
                             "  - { name: feed, kind: hpfeeds, host: 127.0.0.1, security: none, ident: i,"
                             " secret_env: HPF_SECRET, channels: [c], format: raw, max_frame_bytes: 10000,"
                             " error_grace_milliseconds: 0, timeout_seconds: 5 }\n"
                             "  - { name: rabbit, kind: amqp, host: 127.0.0.1, security: none, username: u,"
                             " password_env: AMQP_PW, vhost: /mail, exchange: journal, exchange_type: fanout,"
                             " declare_exchange: false, routing_key: \"\", persistent: false, mandatory: false,"
                             " format: json, max_connections: 2 }\n"
                             "default_upstream: feed\n",
                         kSecrets);
  const auto& feed = c.delivery.upstreams.at(0);
  EXPECT_EQ(feed.port, 10000);
  EXPECT_EQ(feed.security, delivery::UpstreamSecurity::None);
  EXPECT_EQ(feed.hpfeeds.format, delivery::JournalFormat::Raw);
  EXPECT_EQ(feed.hpfeeds.max_frame_bytes, 10000u);
  EXPECT_EQ(feed.hpfeeds.error_grace_milliseconds, 0u);
  EXPECT_EQ(feed.timeout_seconds, 5u);
  const auto& rabbit = c.delivery.upstreams.at(1);
  EXPECT_EQ(rabbit.port, 5672);
  EXPECT_EQ(rabbit.amqp.vhost, "/mail");
  EXPECT_EQ(rabbit.amqp.exchange, "journal");
  EXPECT_EQ(rabbit.amqp.exchange_type, "fanout");
  EXPECT_FALSE(rabbit.amqp.declare_exchange);
  EXPECT_EQ(rabbit.amqp.routing_key, "");
  EXPECT_FALSE(rabbit.amqp.persistent);
  EXPECT_FALSE(rabbit.amqp.mandatory);
  EXPECT_EQ(rabbit.amqp.format, delivery::JournalFormat::Json);
  EXPECT_EQ(rabbit.max_connections, 2u);
}

TEST(ConfigInbound, JournalErrorsNameTheKey) {
  const std::string hpf = "  - { name: feed, kind: hpfeeds, host: b.example, ident: i, secret_env: HPF_SECRET, channels: [c]";
  const std::string amqp = "  - { name: feed, kind: amqp, host: b.example, username: u, password_env: AMQP_PW";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {hpf + ", security: starttls }", "upstreams[0].security: starttls is not spoken by kind: hpfeeds (use none or tls)"},
      {hpf + ", secret: x }", "upstreams[0].secret: inline secrets are not allowed: use secret_file or secret_env"},
      {hpf + ", username: u }", "upstreams[0].username: not allowed with kind: hpfeeds"},
      {hpf + ", max_connections: 2 }", "upstreams[0].max_connections: not allowed with kind: hpfeeds"},
      {hpf + ", max_frame_bytes: 100 }", "upstreams[0].max_frame_bytes: must be at least 518"},
      {hpf + ", format: xml }", "upstreams[0].format: expected one of json, raw, got \"xml\""},
      {"  - { name: feed, kind: hpfeeds, host: b.example, secret_env: HPF_SECRET, channels: [c] }",
       "upstreams[0].ident: required with kind: hpfeeds"},
      {"  - { name: feed, kind: hpfeeds, host: b.example, ident: i, channels: [c] }",
       "upstreams[0].ident: needs secret_file or secret_env"},
      {"  - { name: feed, kind: hpfeeds, host: b.example, ident: i, secret_env: HPF_SECRET }",
       "upstreams[0].channels: required with kind: hpfeeds"},
      {"  - { name: feed, kind: hpfeeds, host: b.example, ident: i, secret_env: NOPE, channels: [c] }",
       "upstreams[0].secret_env: environment variable NOPE is not set"},
      {amqp + ", channels: [c] }", "upstreams[0].channels: not allowed with kind: amqp"},
      {amqp + ", exchange_type: queue }",
       "upstreams[0].exchange_type: expected one of direct, fanout, topic, headers, got \"queue\""},
      {amqp + ", security: none }",
       "upstreams[0].security: none would send the password of username in clear to \"b.example\": use starttls or "
       "tls (none with username is for loopback hosts only: localhost, 127.0.0.0/8, ::1)"},
      {"  - { name: feed, kind: amqp, host: b.example, password_env: AMQP_PW }",
       "upstreams[0].username: required with kind: amqp"},
      {"  - { name: feed, kind: maildir, path: /srv/m, ident: i }", "upstreams[0].ident: not allowed with kind: maildir"},
      {"  - { name: feed, host: b.example, vhost: /x }", "upstreams[0].vhost: not allowed with kind: smtp"},
  };
  for (const auto& [upstream, error] : cases) {
    SCOPED_TRACE(upstream);
    EXPECT_EQ(error_of(kMinimal + "upstreams:\n" + upstream + "\ndefault_upstream: feed\n", kSecrets),
              "postern.yaml:4: " + error);
  }
}

TEST(ConfigInbound, JournalErrorsNeverShowTheSecret) {
  const std::string text = kMinimal +
                           "upstreams:\n  - { name: feed, kind: hpfeeds, host: b.example, ident: i,"
                           " secret: s3cret-inline, channels: [c] }\ndefault_upstream: feed\n";
  EXPECT_EQ(error_of(text).find("s3cret-inline"), std::string::npos);
}

TEST(ConfigInbound, RoutesByRecipientDomainAndFanOut) {
  const Config c = parse(kMinimal + kJournals +
                             "routes:\n"
                             "  - { recipient_domain: Trap.Example, upstreams: [feed, backup] }\n"
                             "  - { sender_domain: example.org, upstream: rabbit }\n",
                         kSecrets);
  ASSERT_EQ(c.delivery.routes.size(), 2u);
  EXPECT_EQ(c.delivery.routes[0].recipient_domain, "trap.example");
  EXPECT_EQ(c.delivery.routes[0].upstreams, (std::vector<std::string>{"feed", "backup"}));
  EXPECT_EQ(c.delivery.routes[1].upstreams, (std::vector<std::string>{"rabbit"}));
}

TEST(ConfigInbound, RouteErrorsNameTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{ upstream: feed }", "routes[0]: expected sender, sender_domain or recipient_domain"},
      {"{ sender_domain: a.example, recipient_domain: t.example, upstream: feed }",
       "routes[0].recipient_domain: cannot be combined with sender_domain (one match per route)"},
      {"{ recipient_domain: t.example }", "routes[0].upstream: required (or upstreams: a list, to fan out)"},
      {"{ recipient_domain: t.example, upstream: feed, upstreams: [backup] }",
       "routes[0].upstreams: cannot be combined with upstream"},
      {"{ recipient_domain: t.example, upstreams: [feed, nowhere] }", "routes[0].upstreams: no upstream named \"nowhere\""},
      {"{ recipient_domain: t.example, upstreams: [feed, feed] }",
       "routes[0].upstreams: upstream \"feed\" is named twice"},
      {"{ recipient_domain: t.example, upstreams: [] }",
       "routes[0].upstreams: must not be empty"},
  };
  for (const auto& [route, error] : cases) {
    SCOPED_TRACE(route);
    const std::string text = kMinimal + kJournals + "routes:\n  - " + route + "\n";
    const std::string got = error_of(text, kSecrets);
    EXPECT_EQ(got.substr(got.find(' ') + 1), error);
  }
}

}  // namespace
}  // namespace postern::config
