// See memory_trim.hpp.
#include "server/runtime/memory_trim.hpp"

#include "server/runtime/log.hpp"

#include <malloc.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

namespace postern::memory {
namespace {

// The thread that trims, started on the first request. It lives as long as the process (it is
// never destroyed, so no exit path can find it waiting).
class Trimmer {
 public:
  Trimmer() : thread_([this] { run(); }) { thread_.detach(); }

  void request() {
    {
      std::lock_guard lock{mutex_};
      pending_ = true;
    }
    wake_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      {
        std::unique_lock lock{mutex_};
        wake_.wait(lock, [this] { return pending_; });
        pending_ = false;
      }
      const auto started = std::chrono::steady_clock::now();
      malloc_trim(0);
      const auto took = std::chrono::steady_clock::now() - started;
      log::debug("memory_trimmed",
                 {{"micros", std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(took).count())}});
      std::this_thread::sleep_for(kTrimInterval);  // requests meanwhile wait for one more trim
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool pending_ = false;
  std::thread thread_;
};

}  // namespace

void after_message(std::uint64_t size) {
  if (size < kLargeMessage) return;
  try {
    static Trimmer* const trimmer = new Trimmer;  // never deleted: see Trimmer
    trimmer->request();
  } catch (const std::exception& e) {  // no thread could be started: the memory stays cached
    log::warning("memory_trim_unavailable", {{"error", e.what()}});
  }
}

}  // namespace postern::memory
