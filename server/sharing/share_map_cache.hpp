// The relay's view of the share maps (postern/schema/share_maps.hpp): every map in memory,
// loaded when the notification listener connects and reloaded whenever PostgreSQL notifies
// kShareMapChannel, so RCPT never waits for the database and a change made with mailadmin applies
// at once. RCPT asks check() about each recipient:
//
//   no map                          250: delivered as usual
//   a map that is not usable        451 4.3.5 with the reason (fewer than two destinations, an
//                                   upstream this relay does not have, ...)
//   a usable map                    451 4.3.5: shares are not delivered by this release yet
//   maps not loaded yet             451 4.3.0: whether the recipient is mapped is unknown
//
// Mail to a mapped recipient is never accepted to go out in clear.
//
//   ShareMapCache maps{pool, policy, {"provider-a", "provider-b"}};
//   maps.reload();                                    // from any thread; loads on the pool
//   smtp::Outcome outcome = maps.check("bob@proxy.example");
#pragma once

#include "postern/schema/sender_rule.hpp"
#include "postern/schema/share_maps.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace postern {
class BlockingPool;
}

namespace postern::sharing {

class ShareMapCache {
 public:
  ShareMapCache(boost::asio::any_io_executor executor, BlockingPool& pool, schema::SenderPolicy policy,
                std::vector<std::string> known_upstreams);

  // Loads every map again, on the pool; a reload asked while one runs runs once more after it.
  // A failed load keeps the maps held and is retried in a few seconds. Any thread.
  void reload();

  // The answer to RCPT for this recipient (as the client wrote it). Any thread.
  smtp::Outcome check(const std::string& recipient) const;

 private:
  boost::asio::awaitable<void> load_until_current();
  boost::asio::awaitable<bool> load();  // false when PostgreSQL could not answer
  std::shared_ptr<const schema::ShareMapIndex> index() const;

  boost::asio::strand<boost::asio::any_io_executor> strand_;  // the loads' state
  BlockingPool& pool_;
  const schema::SenderPolicy policy_;
  const std::vector<std::string> known_upstreams_;
  bool loading_ = false;  // on strand_
  bool stale_ = false;    // on strand_: a reload was asked during a load
  mutable std::mutex mutex_;
  std::shared_ptr<const schema::ShareMapIndex> index_;  // null until the first load
};

}  // namespace postern::sharing
