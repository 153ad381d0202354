// See metrics.hpp.
#include "server/runtime/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <mutex>

namespace postern::metrics {
namespace {

void atomic_add(std::atomic<double>& target, double d) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + d, std::memory_order_relaxed)) {
  }
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char text[64];
  auto end = std::to_chars(text, text + sizeof text, v).ptr;  // shortest form that reads back exactly
  return std::string(text, end);
}

// Label values: backslash, double quote and line feed escaped (the format's rules).
std::string escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  out += "# HELP " + name + " " + help + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

void Counter::render(std::string& out) const {
  header(out, name_, help_, "counter");
  out += name_ + " " + std::to_string(value()) + "\n";
}

void Gauge::add(double d) { atomic_add(value_, d); }

void Gauge::render(std::string& out) const {
  header(out, name_, help_, "gauge");
  out += name_ + " " + number(value()) + "\n";
}

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<std::string> label_names,
                             std::vector<std::vector<std::string>> declared)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {
  for (auto& labels : declared) declare(std::move(labels));
}

std::atomic<std::uint64_t>& CounterFamily::series(std::vector<std::string> labels) {
  labels.resize(label_names_.size());
  {
    std::shared_lock lock{mutex_};
    if (auto it = series_.find(labels); it != series_.end()) return *it->second;
  }
  std::unique_lock lock{mutex_};
  auto& slot = series_[std::move(labels)];
  if (!slot) slot = std::make_unique<std::atomic<std::uint64_t>>(0);
  return *slot;
}

void CounterFamily::declare(std::vector<std::string> labels) { series(std::move(labels)); }

void CounterFamily::inc(std::initializer_list<std::string_view> labels, std::uint64_t n) {
  series(std::vector<std::string>(labels.begin(), labels.end())).fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t CounterFamily::value(std::initializer_list<std::string_view> labels) const {
  std::vector<std::string> key(labels.begin(), labels.end());
  key.resize(label_names_.size());
  std::shared_lock lock{mutex_};
  auto it = series_.find(key);
  return it == series_.end() ? 0 : it->second->load(std::memory_order_relaxed);
}

void CounterFamily::render(std::string& out) const {
  header(out, name_, help_, "counter");
  std::shared_lock lock{mutex_};
  for (const auto& [labels, value] : series_) {
    out += name_ + "{";
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
      if (i) out += ",";
      out += label_names_[i] + "=\"" + escape(labels[i]) + "\"";
    }
    out += "} " + std::to_string(value->load(std::memory_order_relaxed)) + "\n";
  }
}

Histogram::Histogram(std::string name, std::string help, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size())) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double value) {
  auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // first bound >= value
  if (at != bounds_.end()) buckets_[static_cast<std::size_t>(at - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::render(std::string& out) const {
  header(out, name_, help_, "histogram");
  // Read the count first: buckets may then run ahead of it, but never behind (le="+Inf" is the
  // count, and cumulative buckets must not exceed it).
  const std::uint64_t count = count_.load(std::memory_order_relaxed);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += name_ + "_bucket{le=\"" + number(bounds_[i]) + "\"} " + std::to_string(std::min(cumulative, count)) + "\n";
  }
  out += name_ + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
  out += name_ + "_sum " + number(sum_.load(std::memory_order_relaxed)) + "\n";
  out += name_ + "_count " + std::to_string(count) + "\n";
}

Timer::~Timer() {
  histogram_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

Smtp& smtp() {
  static Smtp instance;
  return instance;
}

Queue& queue() {
  static Queue instance;
  return instance;
}

Delivery& delivery() {
  static Delivery instance;
  return instance;
}

Webhooks& webhooks() {
  static Webhooks instance;
  return instance;
}

Reload& reload() {
  static Reload instance;
  return instance;
}

std::string render_prometheus() {
  std::string out;
  const Smtp& s = smtp();
  s.connections_open.render(out);
  s.connections.render(out);
  s.tls_handshakes.render(out);
  s.auth_results.render(out);
  s.cache_lookups.render(out);
  s.limit_refusals.render(out);
  s.proxy_refusals.render(out);
  s.messages_accepted.render(out);
  s.messages_rejected.render(out);
  s.handler_results.render(out);
  s.messages_discarded.render(out);
  s.recipients_accepted.render(out);
  s.bytes_accepted.render(out);
  s.grant_check_seconds.render(out);
  s.accept_seconds.render(out);
  const Queue& q = queue();
  q.depth.render(out);
  q.oldest_age.render(out);
  q.database_up.render(out);
  delivery().results.render(out);
  delivery().pop_logins.render(out);
  delivery().undeliverable_without_dsn.render(out);
  webhooks().events_sent.render(out);
  webhooks().post_failures.render(out);
  webhooks().events_dropped.render(out);
  reload().successes.render(out);
  reload().failures.render(out);
  reload().last_success.render(out);
  return out;
}

}  // namespace postern::metrics
