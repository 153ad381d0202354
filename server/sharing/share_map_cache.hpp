// The relay's view of the share maps (postern/schema/share_maps.hpp): every map in memory,
// loaded when the notification listener connects and reloaded whenever PostgreSQL notifies
// kShareMapChannel, so RCPT never waits for the database and a change made with mailadmin applies
// at once. RCPT asks check() about each recipient, and intake asks lookup() again at the end of
// DATA (the map as it is then is what the queue keeps):
//
//   no map                          250: delivered as usual
//   a usable map                    250: delivered as shares
//   a map that is not usable        451 4.3.5 with the reason (fewer than two destinations, an
//                                   upstream this relay does not have, ...)
//   maps not loaded yet             451 4.3.0: whether the recipient is mapped is unknown
//
// Mail to a mapped recipient is never accepted to go out in clear.
//
//   ShareMapCache maps{executor, pool, policy, {"provider-a", "provider-b"}};
//   maps.reload();                                    // from any thread; loads on the pool
//   smtp::Outcome outcome = maps.check("bob@proxy.example");
#pragma once

#include "postern/schema/sender_rule.hpp"
#include "postern/schema/share_maps.hpp"
#include "server/runtime/snapshot.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <mutex>
#include <optional>
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

  // A reload of postern.yaml: the maps are indexed again with `policy` (how recipients match
  // them), and judged against the upstreams the relay has now.
  void reconfigure(schema::SenderPolicy policy, std::vector<std::string> known_upstreams);

  struct Lookup {
    enum class Kind { Plain, Shared, Refused } kind = Kind::Refused;
    std::optional<schema::ShareMap> map;  // Shared: the map to copy into the queue
    smtp::Outcome refusal;                // Refused: the 451 to answer
  };
  // What this recipient (as the client wrote it) is. Any thread.
  Lookup lookup(const std::string& recipient) const;

  // The answer to RCPT for this recipient. Any thread.
  smtp::Outcome check(const std::string& recipient) const;

 private:
  boost::asio::awaitable<void> load_until_current();
  boost::asio::awaitable<bool> load();  // false when PostgreSQL could not answer
  std::shared_ptr<const schema::ShareMapIndex> index() const;

  boost::asio::strand<boost::asio::any_io_executor> strand_;  // the loads' state
  BlockingPool& pool_;
  struct Settings {
    schema::SenderPolicy policy;
    std::vector<std::string> known_upstreams;
  };
  Snapshot<Settings> settings_;
  bool loading_ = false;  // on strand_
  bool stale_ = false;    // on strand_: a reload was asked during a load
  mutable std::mutex mutex_;
  std::shared_ptr<const schema::ShareMapIndex> index_;  // null until the first load
};

}  // namespace postern::sharing
