// The delivery loop of one replica: claims due messages from the PostgreSQL queue (as many as
// there are free workers), starts one delivery coroutine per message, and otherwise sleeps until
// a NOTIFY wakes it, the next message falls due, or the poll interval passes. An idle queue costs
// one query per poll interval and nothing else. Claims are at least a few milliseconds apart, so
// under load one claim takes the messages of many NOTIFYs.
//
// Leases: before its first claim the scheduler releases what earlier boots of this replica's
// identity still held (a killed process's claims move at once); each delivery then renews its
// lease every third of delivery.lease_seconds, and a renewal that finds the lease taken over
// raises the delivery's lease-lost flag, so it records nothing.
//
//   DeliveryScheduler scheduler{io, pool, delivery, config, owner};  scheduler.start();  ...
//   scheduler.stop(done);
#pragma once

#include "server/delivery/message_delivery.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::delivery {

class DeliveryScheduler {
 public:
  // `owner` names this boot's leases; it is the owner `delivery` records with.
  DeliveryScheduler(boost::asio::io_context& io, BlockingPool& pool, MessageDelivery& delivery,
                    const DeliveryConfig& config, schema::LeaseOwner owner);

  void start();
  // Thread-safe: something may be due now (a NOTIFY, a finished delivery).
  void wake();
  // Stops claiming; deliveries in flight finish, then `done` is called.
  void stop(std::function<void()> done);

  unsigned in_flight() const { return in_flight_.load(); }

 private:
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> release_earlier_boots();
  boost::asio::awaitable<void> run_one(schema::ClaimedMessage message);
  boost::asio::awaitable<void> keep_lease(std::string id, std::shared_ptr<boost::asio::steady_timer> timer,
                                          std::shared_ptr<bool> done, std::shared_ptr<std::atomic<bool>> lease_lost);
  void finished_one();

  boost::asio::io_context& io_;
  BlockingPool& pool_;
  MessageDelivery& delivery_;
  const DeliveryConfig& config_;
  const schema::LeaseOwner owner_;
  const std::string lease_owner_;  // owner_.text(), as claims and renewals write it
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  std::atomic<unsigned> in_flight_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> wake_posted_{false};  // a wake is on its way to the strand
  bool wake_pending_ = true;  // on the strand
  std::function<void()> on_stopped_;  // on the strand
  bool loop_done_ = false;            // on the strand
};

}  // namespace postern::delivery
