#include "server/runtime/metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace postern::metrics {
namespace {

template <class Metric>
std::string rendered(const Metric& metric) {
  std::string out;
  metric.render(out);
  return out;
}

TEST(Metrics, CounterAndGaugeRenderWithHelpAndType) {
  Counter counter{"x_total", "Things."};
  counter.inc();
  counter.inc(4);
  EXPECT_EQ(rendered(counter), "# HELP x_total Things.\n# TYPE x_total counter\nx_total 5\n");
  Gauge gauge{"g", "Level."};
  gauge.add(2);
  gauge.add(-0.5);
  EXPECT_EQ(rendered(gauge), "# HELP g Level.\n# TYPE g gauge\ng 1.5\n");
}

TEST(Metrics, FamilyDeclaresSeriesAtZeroAndCountsUnknownLabelsToo) {
  CounterFamily family{"d_total", "Results.", {"upstream", "outcome"}, {{"a", "ok"}}};
  family.inc({"b", "say \"hi\"\\\n"});
  family.inc({"a", "ok"}, 2);
  EXPECT_EQ(family.value({"a", "ok"}), 2u);
  EXPECT_EQ(rendered(family),
            "# HELP d_total Results.\n# TYPE d_total counter\n"
            "d_total{upstream=\"a\",outcome=\"ok\"} 2\n"
            "d_total{upstream=\"b\",outcome=\"say \\\"hi\\\"\\\\\\n\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
  Histogram histogram{"h_seconds", "Latency.", {0.1, 1}};
  histogram.observe(0.05);
  histogram.observe(0.1);  // le is inclusive
  histogram.observe(0.5);
  histogram.observe(7);
  EXPECT_EQ(rendered(histogram),
            "# HELP h_seconds Latency.\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"0.1\"} 2\nh_seconds_bucket{le=\"1\"} 3\n"
            "h_seconds_bucket{le=\"+Inf\"} 4\nh_seconds_sum 7.65\nh_seconds_count 4\n");
}

TEST(Metrics, TimerObservesOnce) {
  Histogram histogram{"t_seconds", "Timed.", {60}};
  { const Timer timed{histogram}; }
  EXPECT_EQ(histogram.count(), 1u);
}

TEST(Metrics, CountsFromManyThreadsAreExact) {
  CounterFamily family{"c_total", "Concurrent.", {"k"}};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&family, t] {
      for (int i = 0; i < 10000; ++i) family.inc(i % 2 ? "odd" : std::to_string(t));
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(family.value({"odd"}), 20000u);
  EXPECT_EQ(family.value({"0"}), 5000u);
}

TEST(Metrics, RegistryRendersEveryMetricOnce) {
  const std::string text = render_prometheus();
  for (const char* name : {"postern_connections_open", "postern_connections_total", "postern_tls_handshakes_total",
                           "postern_auth_results_total", "postern_messages_accepted_total",
                           "postern_messages_rejected_total", "postern_recipients_accepted_total",
                           "postern_accepted_bytes_total", "postern_grant_check_duration_seconds",
                           "postern_accept_duration_seconds", "postern_queue_depth",
                           "postern_queue_oldest_message_age_seconds", "postern_database_up",
                           "postern_delivery_results_total", "postern_webhook_events_sent_total",
                           "postern_webhook_post_failures_total", "postern_webhook_events_dropped_total"}) {
    const std::string type = std::string("# TYPE ") + name + " ";
    const auto at = text.find(type);
    EXPECT_NE(at, std::string::npos) << name;
    EXPECT_EQ(text.find(type, at + 1), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace postern::metrics
