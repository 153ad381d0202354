// The delivery keys of postern.yaml. An upstream is read key by key like any section, and so is
// its pop_before_smtp; which keys its `kind` allows, the passwords behind `username` and the
// default ports are settled by queued checks, so that a misspelt key is reported as unknown
// before anything is said to be missing. Passwords never reach an error message: only the file
// or variable that holds them does.
#include "server/config/delivery_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "server/config/read_file.hpp"

namespace postern::config::detail {
namespace {

using postern::delivery::DeliveryConfig;
using postern::delivery::JournalFormat;
using postern::delivery::PopBeforeSmtp;
using postern::delivery::Route;
using postern::delivery::Upstream;
using postern::delivery::UpstreamKind;
using postern::delivery::UpstreamSecurity;

// The keys each kind of upstream takes besides name and kind; any other is refused with it.
struct KindKeys {
  UpstreamKind kind;
  std::string_view name;
  std::vector<std::string_view> keys;
};

const std::vector<KindKeys>& kind_keys() {
  static const std::vector<KindKeys> kinds = {
      {UpstreamKind::Smtp, "smtp",
       {"host", "port", "security", "verify_certificate", "ca_file", "username", "password_file", "password_env",
        "ehlo_name", "max_connections", "timeout_seconds", "idle_seconds", "pop_before_smtp", "rewrite"}},
      {UpstreamKind::Maildir, "maildir", {"path", "rewrite"}},
      {UpstreamKind::Hpfeeds, "hpfeeds",
       {"host", "port", "security", "verify_certificate", "ca_file", "timeout_seconds", "idle_seconds", "ident",
        "secret_file", "secret_env", "channels", "format", "max_frame_bytes", "error_grace_milliseconds",
        "rewrite"}},
      {UpstreamKind::Amqp, "amqp",
       {"host", "port", "security", "verify_certificate", "ca_file", "timeout_seconds", "max_connections",
        "username", "password_file", "password_env", "vhost", "exchange", "exchange_type", "declare_exchange",
        "routing_key", "persistent", "mandatory", "format", "rewrite"}},
  };
  return kinds;
}

const KindKeys& keys_of(UpstreamKind kind) {
  for (const KindKeys& k : kind_keys()) {
    if (k.kind == kind) return k;
  }
  return kind_keys().front();
}

// Every key an upstream may have with some kind, so that one of another kind is named as such
// rather than as unknown.
void refuse_keys_of_other_kinds(const Section& s, UpstreamKind kind) {
  const KindKeys& own = keys_of(kind);
  for (const KindKeys& other : kind_keys()) {
    for (const std::string_view key : other.keys) {
      if (!s.has(key) || std::find(own.keys.begin(), own.keys.end(), key) != own.keys.end()) continue;
      std::string message = "not allowed with kind: " + std::string(own.name);
      if (key == "path") message += " (it is for kind: maildir)";
      s.fail_at(key, message);
    }
  }
}

// The longest pause after a POP3 login: a delivery waits it out while holding its lease.
constexpr unsigned kMaxPopWaitSeconds = 300;

std::string ascii_lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// Whether traffic to `host` never leaves the machine (or the pod): "localhost", 127.0.0.0/8,
// ::1, or 127.0.0.0/8 mapped into IPv6. Only there may a password travel without TLS.
bool is_loopback_host(const std::string& host) {
  const std::string name = ascii_lower(host);
  if (name == "localhost" || name == "localhost.") return true;
  unsigned char v4[4];
  if (inet_pton(AF_INET, host.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, host.c_str(), v6) != 1) return false;
  static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(v6, v6 + 16, kLoopback) ||
         (std::equal(v6, v6 + 12, kMappedPrefix) && v6[12] == 127);
}

std::string read_host(Section& s) {
  std::string host;
  if (s.read("host", host) && !is_domain_name(host) && !is_ip_address(host)) {
    s.fail_at("host", "expected a host name or IP address, got " + quote(host));
  }
  return host;
}

void read_security(Section& s, UpstreamSecurity& security) {
  s.read("security", security,
         {{"none", UpstreamSecurity::None},
          {"starttls", UpstreamSecurity::StartTls},
          {"tls", UpstreamSecurity::Tls}});
}

// The password behind username: from password_file or password_env, exactly one of them.
std::string resolve_password(const Section& s, const SecretSource& source, const Environment& env) {
  return resolve_secret(s, source, env, "username");
}

// The certificate keys, which mean something only with TLS and verification.
void check_tls_keys(const Section& s, UpstreamSecurity security, bool verify_certificate) {
  if (security == UpstreamSecurity::None) {
    for (const std::string_view key : {"verify_certificate", "ca_file"}) {
      if (s.has(key)) s.fail_at(key, "not allowed with security: none");
    }
  }
  if (!verify_certificate && s.has("ca_file")) {
    s.fail_at("ca_file", "not allowed with verify_certificate: false");
  }
}

// A password without TLS shows it to anyone on the path: only loopback hosts may have that.
void check_password_in_clear(const Section& s, UpstreamSecurity security, const std::string& host) {
  if (security != UpstreamSecurity::None || is_loopback_host(host)) return;
  s.fail_at("security", "none would send the password of username in clear to " + quote(host) +
                            ": use starttls or tls (none with username is for loopback hosts only: "
                            "localhost, 127.0.0.0/8, ::1)");
}

// A journal broker speaks TLS from the first byte or not at all: security none or tls, tls by
// default; then the port of the kind's TLS or plain service.
void check_journal_transport(const Section& s, Upstream& u, std::string_view kind, std::uint16_t plain_port,
                             std::uint16_t tls_port) {
  if (u.host.empty()) s.fail_at("host", "required with kind: " + std::string(kind));
  if (!s.has("security")) u.security = UpstreamSecurity::Tls;
  if (u.security == UpstreamSecurity::StartTls) {
    s.fail_at("security", "starttls is not spoken by kind: " + std::string(kind) + " (use none or tls)");
  }
  check_tls_keys(s, u.security, u.verify_certificate);
  if (!s.has("port")) u.port = u.security == UpstreamSecurity::Tls ? tls_port : plain_port;
}

// The largest frame header and smallest payload room a PUBLISH needs: 5 header bytes, two
// length-prefixed names of up to 255 bytes.
constexpr std::size_t kMinHpfeedsFrame = 5 + 256 + 256 + 1;

void check_hpfeeds(const Section& s, Upstream& u, const SecretSource& secret, const Environment& env) {
  check_journal_transport(s, u, "hpfeeds", 10000, 10000);
  auto& h = u.hpfeeds;
  if (h.ident.empty()) s.fail_at("ident", "required with kind: hpfeeds");
  if (h.ident.size() > 255) s.fail_at("ident", "longer than 255 bytes");
  if (h.channels.empty()) s.fail_at("channels", "required with kind: hpfeeds");
  for (const std::string& channel : h.channels) {
    if (channel.size() > 255) s.fail_at("channels", "channel " + quote(channel) + " is longer than 255 bytes");
  }
  if (h.max_frame_bytes < kMinHpfeedsFrame) {
    s.fail_at("max_frame_bytes", "must be at least " + std::to_string(kMinHpfeedsFrame));
  }
  h.secret = resolve_secret(s, secret, env, "ident");
}

void check_amqp(const Section& s, Upstream& u, const SecretSource& source, const Environment& env) {
  check_journal_transport(s, u, "amqp", 5672, 5671);
  if (u.username.empty()) s.fail_at("username", "required with kind: amqp");
  check_password_in_clear(s, u.security, u.host);  // AMQP's PLAIN login shows it
  u.password = resolve_password(s, source, env);
}

// Kind-dependent checks and defaults for one upstream, once the whole file has been read.
void check_upstream(const Section& s, Upstream& u, const SecretSource& source, const SecretSource& secret,
                    const Environment& env) {
  refuse_keys_of_other_kinds(s, u.kind);
  if (u.kind == UpstreamKind::Maildir) {
    if (u.maildir.empty()) s.fail_at("path", "required with kind: maildir");
    if (u.maildir.front() != '/') {
      s.fail_at("path", "expected an absolute path, got " + quote(u.maildir));
    }
    return;
  }
  if (u.kind == UpstreamKind::Hpfeeds) return check_hpfeeds(s, u, secret, env);
  if (u.kind == UpstreamKind::Amqp) return check_amqp(s, u, source, env);
  if (u.host.empty()) s.fail_at("host", "required with kind: smtp");
  check_tls_keys(s, u.security, u.verify_certificate);
  // AUTH PLAIN/LOGIN without TLS shows the password to anyone on the path.
  if (!u.username.empty()) check_password_in_clear(s, u.security, u.host);
  if (!s.has("port")) {
    // The IANA ports: submission (RFC 6409), submissions (RFC 8314 §7.3), smtp (RFC 5321).
    u.port = u.security == UpstreamSecurity::Tls    ? 465
             : u.security == UpstreamSecurity::None ? 25
                                                    : 587;
  }
  if (u.username.empty()) {
    if (source.has_file) s.fail_at("password_file", "needs username");
    if (source.has_env) s.fail_at("password_env", "needs username");
    return;
  }
  u.password = resolve_password(s, source, env);
}

// pop_before_smtp of an smtp upstream, once the whole file has been read.
void check_pop_before_smtp(const Section& s, PopBeforeSmtp& pop, const SecretSource& source,
                           const Environment& env) {
  if (pop.host.empty()) s.fail_at("host", "required");
  if (pop.username.empty()) s.fail_at("username", "required");
  check_tls_keys(s, pop.security, pop.verify_certificate);
  check_password_in_clear(s, pop.security, pop.host);
  // The IANA ports: pop3s (RFC 8314 §7.3), pop3 (RFC 1939, with STLS per RFC 2595).
  if (!s.has("port")) pop.port = pop.security == UpstreamSecurity::Tls ? 995 : 110;
  pop.password = resolve_password(s, source, env);
}

// An upstream's pop_before_smtp, read key by key; its checks are queued with the upstream's.
struct PopSection {
  Section section;
  SecretSource source;
};

std::optional<PopSection> read_pop_before_smtp(Section& s, Upstream& u) {
  std::optional<PopSection> found;
  s.section("pop_before_smtp", [&](Section& p) {
    if (!p.present()) return;
    PopBeforeSmtp pop;
    SecretSource source = read_secret_source(p, "password");
    pop.host = read_host(p);
    p.read("port", pop.port);
    read_security(p, pop.security);
    p.read("verify_certificate", pop.verify_certificate);
    p.read("ca_file", pop.ca_file);
    p.read("username", pop.username);
    p.read("interval_seconds", pop.interval_seconds, 0);
    p.read("wait_seconds", pop.wait_seconds, 0, kMaxPopWaitSeconds);
    u.pop_before_smtp = std::move(pop);
    found = PopSection{p, std::move(source)};
  });
  return found;
}

void read_format(Section& s, JournalFormat& format) {
  s.read("format", format, {{"json", JournalFormat::Json}, {"raw", JournalFormat::Raw}});
}

// The keys of kind: hpfeeds and kind: amqp; returns where hpfeeds' secret comes from.
SecretSource read_journal_keys(Section& s, Upstream& u) {
  SecretSource secret = read_secret_source(s, "secret");
  auto& h = u.hpfeeds;
  s.read("ident", h.ident);
  s.read("channels", h.channels);
  s.read("max_frame_bytes", h.max_frame_bytes);
  s.read("error_grace_milliseconds", h.error_grace_milliseconds, 0, 60000);
  auto& a = u.amqp;
  s.read("vhost", a.vhost);
  s.read("exchange", a.exchange);
  s.read("exchange_type", a.exchange_type, {{"direct", std::string("direct")}, {"fanout", std::string("fanout")},
                                            {"topic", std::string("topic")}, {"headers", std::string("headers")}});
  s.read("declare_exchange", a.declare_exchange);
  s.read("routing_key", a.routing_key, Empty::Allowed);
  s.read("persistent", a.persistent);
  s.read("mandatory", a.mandatory);
  if (u.kind == UpstreamKind::Hpfeeds) read_format(s, h.format);
  if (u.kind == UpstreamKind::Amqp) read_format(s, a.format);
  return secret;
}

void read_upstreams(Section& root, DeliveryConfig& cfg, const Environment& env, Checks& checks) {
  root.list("upstreams", [&](Section& s) {
    Upstream u;
    const SecretSource source = read_secret_source(s, "password");
    if (s.read("name", u.name) && !is_plain_name(u.name)) {
      s.fail_at("name", "expected letters, digits, '.', '_' or '-', got " + quote(u.name));
    }
    s.read("kind", u.kind,
           {{"smtp", UpstreamKind::Smtp},
            {"maildir", UpstreamKind::Maildir},
            {"hpfeeds", UpstreamKind::Hpfeeds},
            {"amqp", UpstreamKind::Amqp}});
    u.host = read_host(s);
    s.read("port", u.port);
    read_security(s, u.security);
    s.read("verify_certificate", u.verify_certificate);
    s.read("ca_file", u.ca_file);
    s.read("username", u.username);
    if (s.read("ehlo_name", u.ehlo_name) && !is_domain_name(u.ehlo_name)) {
      s.fail_at("ehlo_name", "expected a domain name, got " + quote(u.ehlo_name));
    }
    s.read("max_connections", u.max_connections);
    s.read("timeout_seconds", u.timeout_seconds);
    s.read("idle_seconds", u.idle_seconds, 0);
    s.read("path", u.maildir);
    s.section("rewrite", [&](Section& r) {
      u.rewrite_return_path = read_address(r, "return_path");
      u.rewrite_reply_to = read_address(r, "reply_to");
    });
    const std::optional<PopSection> pop = read_pop_before_smtp(s, u);
    const SecretSource secret = read_journal_keys(s, u);
    const std::size_t index = cfg.upstreams.size();
    cfg.upstreams.push_back(std::move(u));
    checks.push_back([s, index, source, secret, pop, &cfg, &env] {
      Upstream& upstream = cfg.upstreams[index];
      if (upstream.name.empty()) s.fail_at("name", "required");
      for (std::size_t i = 0; i < index; ++i) {
        if (cfg.upstreams[i].name == upstream.name) {
          s.fail_at("name", "duplicate upstream name " + quote(upstream.name));
        }
      }
      check_upstream(s, upstream, source, secret, env);
      if (pop) check_pop_before_smtp(pop->section, *upstream.pop_before_smtp, pop->source, env);
    });
  });
}

// Routes are compared case-insensitively (see delivery/routes.hpp), so they are stored in
// lowercase: the local part here, the domain by schema::parse_address / normalize_domain.
bool read_routes(Section& root, DeliveryConfig& cfg, Checks& checks) {
  return root.list("routes", [&](Section& s) {
    Route route;
    route.sender = ascii_lower(read_address(s, "sender"));
    route.sender_domain = read_domain(s, "sender_domain");
    route.recipient_domain = read_domain(s, "recipient_domain");
    std::string upstream;
    const bool one = s.read("upstream", upstream);
    if (one) route.upstreams.push_back(upstream);
    const bool several = s.read("upstreams", route.upstreams);
    cfg.routes.push_back(route);
    checks.push_back([s, route, one, several, &cfg] {
      if (cfg.upstreams.empty()) return;  // the whole section is refused below
      const int matches = !route.sender.empty() + !route.sender_domain.empty() + !route.recipient_domain.empty();
      if (matches == 0) s.fail_here("expected sender, sender_domain or recipient_domain");
      if (matches > 1) {
        s.fail_at(route.recipient_domain.empty() ? "sender_domain" : "recipient_domain",
                  "cannot be combined with " +
                      std::string(route.sender.empty() ? "sender_domain" : "sender") + " (one match per route)");
      }
      if (one && several) s.fail_at("upstreams", "cannot be combined with upstream");
      if (route.upstreams.empty()) s.fail_at("upstream", "required (or upstreams: a list, to fan out)");
      const char* key = several ? "upstreams" : "upstream";
      for (std::size_t i = 0; i < route.upstreams.size(); ++i) {
        const std::string& name = route.upstreams[i];
        const bool known = std::any_of(cfg.upstreams.begin(), cfg.upstreams.end(),
                                       [&](const Upstream& u) { return u.name == name; });
        if (!known) s.fail_at(key, "no upstream named " + quote(name));
        if (std::find(route.upstreams.begin(), route.upstreams.begin() + static_cast<long>(i), name) !=
            route.upstreams.begin() + static_cast<long>(i)) {
          s.fail_at(key, "upstream " + quote(name) + " is named twice");
        }
      }
    });
  });
}

}  // namespace

void read_delivery(Section& root, DeliveryConfig& cfg, const Environment& env, Checks& checks) {
  root.section("delivery", [&](Section& s) {
    s.read("workers", cfg.workers);
    s.read("lease_seconds", cfg.lease_seconds);
    s.read("lifetime_seconds", cfg.lifetime_seconds);
    s.read("first_retry_seconds", cfg.first_retry_seconds);
    s.read("max_retry_seconds", cfg.max_retry_seconds);
    s.read("poll_seconds", cfg.poll_seconds);
    checks.push_back([s, &cfg] {
      if (cfg.max_retry_seconds < cfg.first_retry_seconds) {
        s.fail_at("max_retry_seconds", "must be at least first_retry_seconds (" +
                                           std::to_string(cfg.first_retry_seconds) + "), got " +
                                           std::to_string(cfg.max_retry_seconds));
      }
    });
  });
  read_upstreams(root, cfg, env, checks);
  const bool has_routes = read_routes(root, cfg, checks);
  const bool has_default = root.read("default_upstream", cfg.default_upstream);
  checks.push_back([root, &cfg, has_routes, has_default] {
    if (cfg.upstreams.empty()) {  // delivery disabled: the relay only queues
      if (has_routes) {
        root.fail_at("routes", "not allowed without upstreams (delivery is disabled)");
      }
      if (has_default) {
        root.fail_at("default_upstream", "not allowed without upstreams (delivery is disabled)");
      }
      return;
    }
    if (!has_default) root.fail_at("default_upstream", "required when upstreams are configured");
    const bool known =
        std::any_of(cfg.upstreams.begin(), cfg.upstreams.end(),
                    [&](const Upstream& u) { return u.name == cfg.default_upstream; });
    if (!known) {
      root.fail_at("default_upstream", "no upstream named " + quote(cfg.default_upstream));
    }
  });
}

}  // namespace postern::config::detail
