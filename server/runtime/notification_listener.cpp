// See notification_listener.hpp.
#include "server/runtime/notification_listener.hpp"

#include "postern/schema/store.hpp"
#include "server/runtime/log.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <list>

namespace postern {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& db, const NotificationListener::Subscription& subscription)
      : pqxx::notification_receiver(db, subscription.channel), notified_(subscription.notified) {}
  void operator()(const std::string& payload, int) override { notified_(payload); }

 private:
  const std::function<void(const std::string&)>& notified_;
};

}  // namespace

NotificationListener::NotificationListener(std::string database_url, std::vector<Subscription> subscriptions)
    : database_url_(std::move(database_url)),
      subscriptions_(std::move(subscriptions)),
      thread_([this] { run(); }) {}

NotificationListener::~NotificationListener() { stop(); }

void NotificationListener::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void NotificationListener::run() {
  bool lost = false;
  while (!stopping_) {
    try {
      pqxx::connection db{schema::with_connection_defaults(database_url_)};
      std::list<Receiver> receivers;  // registered with the connection: they must not move
      for (const auto& subscription : subscriptions_) receivers.emplace_back(db, subscription);
      db.get_notifs();  // sends the LISTENs
      if (lost) log::info("notification_listener_reconnected");
      lost = false;
      for (const auto& subscription : subscriptions_) subscription.notified(kConnected);
      // A short wait so stop() is noticed within a second.
      while (!stopping_) db.await_notification(1, 0);
    } catch (const std::exception& e) {
      if (!lost) {
        log::warning("notification_listener_lost", {{"error", e.what()}});
        for (const auto& subscription : subscriptions_) {
          if (subscription.lost) subscription.lost();
        }
      }
      lost = true;
      for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace postern
