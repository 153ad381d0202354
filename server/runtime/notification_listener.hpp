// PostgreSQL's NOTIFY, heard at once: a thread of its own holds one connection that LISTENs on
// each subscribed channel and calls the channel's callback with the payload of every
// notification (the queue's: a message was queued, wake the delivery scheduler; the share maps':
// a map changed, reload them; the users': drop what the caches hold about that user).
// Every callback is also called, with kConnected as the payload, each time the connection is
// made, the first time and after a lost connection, since notifications may have been missed
// meanwhile; `lost`, where given, is called when the connection breaks. Callbacks run on the
// listener's thread: they must only hand the news on (post to an io_context, set a flag).
//
//   NotificationListener listener{url, {{schema::kQueueChannel, [&](const std::string&) { scheduler.wake(); }}}};
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace postern {

class NotificationListener {
 public:
  // The payload of the call made when the connection is (re)made: no NOTIFY payload can be null.
  static constexpr const char* kConnected = "\x01connected";

  struct Subscription {
    std::string channel;
    std::function<void(const std::string& payload)> notified;
    std::function<void()> lost = {};
  };

  NotificationListener(std::string database_url, std::vector<Subscription> subscriptions);
  ~NotificationListener();
  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;

  void stop();

 private:
  void run();

  std::string database_url_;
  std::vector<Subscription> subscriptions_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace postern
