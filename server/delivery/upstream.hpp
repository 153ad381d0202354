// Where delivery sends mail: the upstreams and routes of postern.yaml. An upstream is an SMTP
// server (a provider's submission port, a smarthost), possibly behind POP before SMTP, a local
// maildir, or a journal: a message broker that publishes each message to its subscribers
// (hpfeeds, AMQP). Routes pick upstreams by the envelope sender or the recipient's domain, first
// match wins, else the default. Plain data: the config loader fills it, the delivery engine reads
// it.
#pragma once

#include "postern/schema/seal.hpp"
#include "postern/schema/webhook_outbox.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace postern::delivery {

enum class UpstreamKind { Smtp, Maildir, Hpfeeds, Amqp };
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

  friend bool operator==(const PopBeforeSmtp&, const PopBeforeSmtp&) = default;
};

// What a journal publishes for a message: the seed collector's JSON object
// {"sha256": hex of the raw bytes, "msg": the text} (with "msg_base64" when the message is not
// valid UTF-8), or the raw bytes.
enum class JournalFormat { Json, Raw };

// kind: hpfeeds (host, port, security none|tls, verify_certificate, ca_file, timeout_seconds and
// max_connections come from the Upstream).
struct HpfeedsSettings {
  std::string ident;
  std::string secret;                  // secret: from secret_file or secret_env, never inline
  std::vector<std::string> channels;  // each message is published to every one
  JournalFormat format = JournalFormat::Json;
  // The largest frame, its 5-byte header included: the Python broker's 5 + 1 MiB.
  std::size_t max_frame_bytes = 5 + 1024 * 1024;
  // hpfeeds acknowledges nothing: a message counts as delivered once its frames were written and
  // no OP_ERROR (nor a close) came within this grace.
  unsigned error_grace_milliseconds = 200;

  friend bool operator==(const HpfeedsSettings&, const HpfeedsSettings&) = default;
};

// kind: amqp, AMQP 0-9-1 (host, port, security none|tls, verify_certificate, ca_file, username,
// password, timeout_seconds and max_connections come from the Upstream).
struct AmqpSettings {
  std::string vhost = "/";
  std::string exchange = "spam";
  std::string exchange_type = "topic";  // declared durable at connect unless declare_exchange: false
  bool declare_exchange = true;
  std::string routing_key = "spam.mails";
  bool persistent = true;  // delivery mode 2
  bool mandatory = true;   // an unroutable message comes back (basic.return): a temporary failure
  JournalFormat format = JournalFormat::Raw;

  friend bool operator==(const AmqpSettings&, const AmqpSettings&) = default;
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

  // kind: hpfeeds, amqp (journals: the recipients are not sent; one publish delivers them all)
  HpfeedsSettings hpfeeds;
  AmqpSettings amqp;

  // Header rewrites at delivery (smtpproxy's per-account Return-Path and Reply-To).
  std::string rewrite_return_path;  // empty: unchanged
  std::string rewrite_reply_to;     // empty: unchanged

  friend bool operator==(const Upstream&, const Upstream&) = default;
};

// One of sender, sender_domain, recipient_domain is set. A route with several upstreams fans
// out: each of its recipients goes to every one, tracked and retried on its own.
struct Route {
  std::string sender;            // exact envelope sender (normalised address), or
  std::string sender_domain;     // the sender's domain (normalised), or
  std::string recipient_domain;  // the recipient's domain (normalised)
  std::vector<std::string> upstreams;  // names of upstreams, at least one

  friend bool operator==(const Route&, const Route&) = default;
};

// The `dkim:` section: signing at delivery with the keys `mailadmin dkim add` made.
struct DkimConfig {
  bool enabled = true;               // off: no body hash at intake, nothing signed
  std::vector<std::string> headers;  // the header fields signed when present (From oversigned)

  friend bool operator==(const DkimConfig&, const DkimConfig&) = default;
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
  // queue.seal_key_files, loaded: the first seals what is queued, every one opens; none when
  // unset (the queue holds mail in clear).
  schema::SealKeys seal_keys;
  DkimConfig dkim;
  // webhooks.endpoints' events: the outbox rows intake and delivery write with their changes
  schema::WebhookSubscriptions webhooks;

  friend bool operator==(const DeliveryConfig&, const DeliveryConfig&) = default;
};

}  // namespace postern::delivery
