// Wakes the delivery scheduler the moment a message is queued anywhere: a thread of its own
// holds one PostgreSQL connection that LISTENs on the queue channel (the enqueue statement
// NOTIFYs on commit). After a lost connection it reconnects and wakes the scheduler once, since
// notifications may have been missed meanwhile.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace postern::queue {

class QueueListener {
 public:
  QueueListener(std::string database_url, std::function<void()> wake);
  ~QueueListener();
  QueueListener(const QueueListener&) = delete;
  QueueListener& operator=(const QueueListener&) = delete;

  void stop();

 private:
  void run();

  std::string database_url_;
  std::function<void()> wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace postern::queue
