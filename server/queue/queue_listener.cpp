// See queue_listener.hpp.
#include "server/queue/queue_listener.hpp"

#include "postern/schema/queue_store.hpp"
#include "postern/schema/store.hpp"
#include "server/runtime/log.hpp"

#include <pqxx/pqxx>

#include <chrono>

namespace postern::queue {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& db, std::function<void()>& wake)
      : pqxx::notification_receiver(db, schema::kQueueChannel), wake_(wake) {}
  void operator()(const std::string&, int) override { wake_(); }

 private:
  std::function<void()>& wake_;
};

}  // namespace

QueueListener::QueueListener(std::string database_url, std::function<void()> wake)
    : database_url_(std::move(database_url)), wake_(std::move(wake)), thread_([this] { run(); }) {}

QueueListener::~QueueListener() { stop(); }

void QueueListener::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void QueueListener::run() {
  bool lost = false;
  while (!stopping_) {
    try {
      pqxx::connection db{schema::with_connection_defaults(database_url_)};
      Receiver receiver{db, wake_};
      db.get_notifs();  // sends LISTEN
      if (lost) {
        log::info("queue_listener_reconnected");
        wake_();
      }
      lost = false;
      // A short wait so stop() is noticed within a second.
      while (!stopping_) db.await_notification(1, 0);
    } catch (const std::exception& e) {
      if (!lost) log::warning("queue_listener_lost", {{"error", e.what()}});
      lost = true;
      for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace postern::queue
