// The relay's metrics: a few process-wide counters, gauges and histograms, updated with atomics
// from any thread and rendered in the Prometheus text exposition format (version 0.0.4) by the
// HTTP endpoint's GET /metrics. No external library. Call sites are one line:
//
//   metrics::smtp().auth_results.inc("accepted");
//   metrics::delivery().results.inc({"provider", "delivered"});
//   const metrics::Timer timed{metrics::smtp().grant_check_seconds};  // observes at scope exit
//
// Label sets are declared up front (so every series exists, at 0, from the start); an unknown
// label value still counts, as a new series, so that nothing is ever lost.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace postern::metrics {

class Counter {
 public:
  Counter(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }
  void render(std::string& out) const;

 private:
  std::string name_, help_;
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  Gauge(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }
  void render(std::string& out) const;

 private:
  std::string name_, help_;
  std::atomic<double> value_{0};
};

// A counter per combination of label values, e.g. {upstream, outcome}.
class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names,
                std::vector<std::vector<std::string>> declared = {});
  void inc(std::initializer_list<std::string_view> labels, std::uint64_t n = 1);
  void inc(std::string_view label, std::uint64_t n = 1) { inc({label}, n); }
  // Declares a series (at 0) when it does not exist yet.
  void declare(std::vector<std::string> labels);
  std::uint64_t value(std::initializer_list<std::string_view> labels) const;
  void render(std::string& out) const;

 private:
  std::atomic<std::uint64_t>& series(std::vector<std::string> labels);

  std::string name_, help_;
  std::vector<std::string> label_names_;
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<std::atomic<std::uint64_t>>> series_;
};

class Histogram {
 public:
  // `bounds`: the upper bounds of the buckets, ascending; +Inf is added.
  Histogram(std::string name, std::string help, std::vector<double> bounds);
  void observe(double value);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  void render(std::string& out) const;

 private:
  std::string name_, help_;
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // not cumulative; one per bound
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Observes the seconds from its construction to its destruction.
class Timer {
 public:
  explicit Timer(Histogram& histogram) : histogram_(histogram), start_(std::chrono::steady_clock::now()) {}
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

 private:
  Histogram& histogram_;
  std::chrono::steady_clock::time_point start_;
};

struct Smtp {
  Gauge connections_open{"postern_connections_open", "SMTP connections open now."};
  Counter connections{"postern_connections_total", "SMTP connections accepted (within the limits)."};
  CounterFamily tls_handshakes{"postern_tls_handshakes_total", "TLS handshakes (STARTTLS and implicit) by result.",
                               {"result"}, {{"ok"}, {"failed"}}};
  CounterFamily auth_results{"postern_auth_results_total", "SMTP AUTH attempts by result.", {"result"},
                             {{"accepted"}, {"rejected"}, {"disabled"}, {"unavailable"}, {"busy"}, {"throttled"}}};
  // credentials: a login with a remembered password (hit) or a full check (miss); grants: MAIL
  // FROM with the user's grants in memory or read from PostgreSQL.
  CounterFamily cache_lookups{"postern_cache_lookups_total", "Lookups in this replica's caches, by cache and result.",
                              {"cache", "result"},
                              {{"credentials", "hit"}, {"credentials", "miss"}, {"grants", "hit"}, {"grants", "miss"}}};
  // messages: MAIL FROM refused (450) by a messages limit; recipients: RCPT by a recipients limit.
  CounterFamily limit_refusals{"postern_sending_limit_refusals_total", "Commands refused by a sending limit.",
                               {"limit"}, {{"messages"}, {"recipients"}}};
  // Listeners with proxy_protocol: untrusted: the peer is not in trusted_proxies; bad_header:
  // not a PROXY header; timeout, closed: no complete header in time, or before the peer left.
  CounterFamily proxy_refusals{"postern_proxy_protocol_refusals_total",
                               "Connections closed before SMTP by the PROXY protocol checks, by reason.", {"reason"},
                               {{"untrusted"}, {"bad_header"}, {"timeout"}, {"closed"}}};
  Counter messages_accepted{"postern_messages_accepted_total", "Messages queued (250 after the commit)."};
  // sender_denied, sender_temp_failure: MAIL FROM refused (553) or not checked (451);
  // header_from: 550 at the end of DATA; size: 552; bad_data: 550/500 for bare CR/LF, NUL or
  // long lines; temp_failure: 451 because the message could not be committed (or a recipient's
  // share map is not usable any more); privmail_shape: 554 for a message the privmail share
  // format cannot carry; handler_reject, handler_defer: a handler's 5xx or 4xx.
  // relay_denied: RCPT outside an inbound or LMTP listener's accept_domains.
  CounterFamily messages_rejected{"postern_messages_rejected_total",
                                  "Transactions refused, by reason.", {"reason"},
                                  {{"sender_denied"}, {"sender_temp_failure"}, {"header_from"}, {"size"},
                                   {"bad_data"}, {"temp_failure"}, {"privmail_shape"}, {"handler_reject"},
                                   {"handler_defer"}, {"relay_denied"}}};
  // Each handler whose `when` held, by how the message went on (series declared per handler).
  CounterFamily handler_results{"postern_handler_results_total",
                                "Handlers run on messages, by handler and result (continue, discard, reject, defer).",
                                {"handler", "result"}};
  CounterFamily messages_discarded{"postern_messages_discarded_total",
                                   "Messages answered 250 and discarded by a handler, never queued.", {"handler"}};
  Counter recipients_accepted{"postern_recipients_accepted_total", "Recipients of queued messages."};
  Counter bytes_accepted{"postern_accepted_bytes_total", "Octets of queued messages, as stored."};
  Histogram grant_check_seconds{"postern_grant_check_duration_seconds",
                                "MAIL FROM grant lookup latency.",
                                {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}};
  Histogram accept_seconds{"postern_accept_duration_seconds",
                           "End of DATA to 250: filters and the queue commit.",
                           {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}};
};

struct Queue {
  Gauge depth{"postern_queue_depth", "Messages in the queue (all replicas), read at scrape time."};
  Gauge oldest_age{"postern_queue_oldest_message_age_seconds",
                   "Age of the oldest queued message, read at scrape time; 0 when empty."};
  Gauge database_up{"postern_database_up",
                    "1 when the last scrape-time or readiness query reached PostgreSQL, else 0."};
};

struct Delivery {
  CounterFamily results{"postern_delivery_results_total",
                        "Recipient delivery attempts by upstream and outcome "
                        "(delivered, deferred, failed, expired).",
                        {"upstream", "outcome"}};
  // POP before SMTP (server/delivery/pop_before_smtp.hpp): ok, refused (the server's -ERR to the
  // login), failed (connect, TLS, a server that times out or speaks garbage).
  CounterFamily pop_logins{"postern_pop_logins_total", "POP3 logins for POP before SMTP by upstream and result.",
                           {"upstream", "result"}};
  // Recipients of mail without DSNs (inbound, LMTP) that finally failed: no DSN went to the
  // (likely forged) sender; the message stays in the queue until deleted or expired.
  Counter undeliverable_without_dsn{"postern_undeliverable_without_dsn_total",
                                    "Recipients that finally failed on mail whose listener sends no DSNs."};
};

// Delivery webhooks (server/webhooks): series declared per configured endpoint.
struct Webhooks {
  CounterFamily events_sent{"postern_webhook_events_sent_total", "Webhook events acknowledged (2xx) by endpoint.",
                            {"endpoint"}};
  CounterFamily post_failures{"postern_webhook_post_failures_total",
                              "Webhook POSTs that failed (status, connection, TLS, timeout), by endpoint.", {"endpoint"}};
  CounterFamily events_dropped{"postern_webhook_events_dropped_total",
                               "Webhook events given up after webhooks.give_up_hours, by endpoint.", {"endpoint"}};
};

// SIGHUP's reloads of postern.yaml (server/daemon/config_reload.hpp).
struct Reload {
  Counter successes{"postern_config_reloads_total", "Reloads of postern.yaml applied."};
  Counter failures{"postern_config_reload_failures_total",
                   "Reloads of postern.yaml refused (the file could not be read or is invalid)."};
  Gauge last_success{"postern_config_last_reload_success_timestamp_seconds",
                     "Unix time of the last reload applied; 0 before the first one."};
};

Smtp& smtp();
Queue& queue();
Delivery& delivery();
Webhooks& webhooks();
Reload& reload();

// Counts one SMTP connection open for its lifetime (and in the total).
class OpenConnection {
 public:
  OpenConnection() {
    smtp().connections.inc();
    smtp().connections_open.add(1);
  }
  ~OpenConnection() { smtp().connections_open.add(-1); }
  OpenConnection(const OpenConnection&) = delete;
  OpenConnection& operator=(const OpenConnection&) = delete;
};

// Every metric, in the text exposition format.
std::string render_prometheus();

}  // namespace postern::metrics
