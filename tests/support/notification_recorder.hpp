// A second connection LISTENing on one channel, as a relay does, that records the payloads.
//
//   NotificationRecorder relay{url, kUserChannel};
//   store.set_password(...);
//   EXPECT_EQ(relay.take(1), std::vector<std::string>{"alice"});
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace postern::test {

namespace detail {
// The listening connection, a base of its own so that it outlives the receiver's unregistering.
struct OwnConnection {
  explicit OwnConnection(const std::string& url) : connection(url) {}
  pqxx::connection connection;
};
}  // namespace detail

class NotificationRecorder : private detail::OwnConnection, public pqxx::notification_receiver {
 public:
  NotificationRecorder(const std::string& url, const std::string& channel)
      : OwnConnection(url), pqxx::notification_receiver(connection, channel) {}

  void operator()(const std::string& payload, int) override { payloads_.push_back(payload); }

  // What was notified since the last call: waits until `expected` arrived (5 s at most), then a
  // little longer, so that one more than expected is seen too.
  std::vector<std::string> take(std::size_t expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (payloads_.size() < expected && std::chrono::steady_clock::now() < deadline) {
      connection.await_notification(0, 100000);
    }
    connection.await_notification(0, 200000);
    connection.get_notifs();
    return std::exchange(payloads_, {});
  }

 private:
  std::vector<std::string> payloads_;
};

}  // namespace postern::test
