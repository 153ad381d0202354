// Where delivery sends mail: the upstreams and routes of postern.yaml. An upstream is an SMTP
// server (a provider's submission port, a smarthost), possibly behind POP before SMTP, or a local
// maildir; routes pick one by the envelope sender, first match wins, else the default. Plain
// data: the config loader fills it, the delivery engine reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postern::delivery {

enum class UpstreamKind { Smtp, Maildir };
enum class UpstreamSecurity { None, StartTls, Tls };  // Tls = implicit TLS (port 465)

// POP before SMTP (smtpproxy's popbeforesmtp): a provider that relays only for whoever logged in
// to its POP3 server a short while before. Delivery logs in there first whenever the last
// successful login is older than interval_seconds (pop_before_smtp.hpp).
struct PopBeforeSmtp {
  std::string host;
  std::uint16_t port = 995;                           // 995 with security tls, else 110
  UpstreamSecurity security = UpstreamSecurity::Tls;  // Tls = implicit TLS, StartTls = STLS (RFC 2595)
  bool verify_certificate = true;  // false only when the config says so, explicitly
  std::string ca_file;             // empty: the system CA store
  std::string username;
  std::string password;            // secret: from password_file or password_env, never inline
  unsigned interval_seconds = 60;  // a login counts this long (smtpproxy's popcheckdelay)
  unsigned wait_seconds = 1;       // pause after a fresh login before sending (smtpproxy's waitafterpop)
};

struct Upstream {
  std::string name;
  UpstreamKind kind = UpstreamKind::Smtp;

  // kind: smtp
  std::string host;
  std::uint16_t port = 587;
  UpstreamSecurity security = UpstreamSecurity::StartTls;
  bool verify_certificate = true;  // false only when the config says so, explicitly, per upstream
  std::string ca_file;             // empty: the system CA store
  std::string username;            // empty: no AUTH
  std::string password;            // secret: from password_file or password_env, never inline
  std::string ehlo_name;           // empty: the relay's hostname
  unsigned max_connections = 4;    // concurrent sessions to this upstream, per replica
  unsigned timeout_seconds = 60;   // per command (connect, each reply)
  unsigned idle_seconds = 30;      // an idle connection is kept this long for the next message
  std::optional<PopBeforeSmtp> pop_before_smtp;  // its POP3 steps use timeout_seconds too

  // kind: maildir
  std::string maildir;  // the Maildir root: tmp/, new/, cur/ are created inside

  // Header rewrites at delivery (smtpproxy's per-account Return-Path and Reply-To).
  std::string rewrite_return_path;  // empty: unchanged
  std::string rewrite_reply_to;     // empty: unchanged
};

struct Route {
  std::string sender;         // exact envelope sender (normalised address), or
  std::string sender_domain;  // the sender's domain (normalised)
  std::string upstream;       // name of an upstream
};

struct DeliveryConfig {
  std::vector<Upstream> upstreams;
  std::vector<Route> routes;
  std::string default_upstream;  // name; required when any upstream is configured
  // policy.subaddress_delimiter: a route for a@d takes a+tag@d too, as the grant check does
  std::string subaddress_delimiter = "+";
  unsigned workers = 16;                  // deliveries in flight per replica
  unsigned lease_seconds = 30;            // renewed every third of it; a dead replica's claim moves after it
  unsigned lifetime_seconds = 5 * 86400;  // then undeliverable recipients bounce
  unsigned first_retry_seconds = 60;      // backoff starts here, doubles, with jitter
  unsigned max_retry_seconds = 3600;      // and is capped here
  unsigned poll_seconds = 30;             // safety net when a NOTIFY was missed
};

}  // namespace postern::delivery
