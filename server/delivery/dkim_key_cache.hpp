// The DKIM keys delivery signs with (schema/dkim_keys.hpp), held in memory and read again from
// PostgreSQL, on the blocking pool, at the next attempt after a NOTIFY postern_dkim_keys (a key
// added with `mailadmin dkim add` signs at once, a deleted one stops), and when the copy is a
// minute old (a notification missed).
//
//   std::shared_ptr<const DkimKeys> keys = co_await cache.current(config.seal_keys);
//   QueuedBody::HeaderSigner signer = keys->signer_for(message.dkim_body_hash, config.dkim.headers);
#pragma once

#include "dkim/signature.hpp"
#include "postern/schema/seal.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace postern {
class BlockingPool;
}

namespace postern::delivery {

// The keys as loaded: per domain, its signers (an RSA and an Ed25519 one sign side by side).
class DkimKeys {
 public:
  explicit DkimKeys(std::map<std::string, std::vector<dkim::Signer>> by_domain) : by_domain_(std::move(by_domain)) {}

  // The signers for mail whose header From is at `domain`: that domain's keys, else those of
  // the nearest parent domain that has keys (relaxed DMARC alignment; a DSN from
  // MAILER-DAEMON@relay.example.com is signed by example.com's key). None: unsigned.
  const std::vector<dkim::Signer>* signers_for(std::string_view domain) const;

  // The DKIM-Signature fields to prepend to a header section, for a message with this body
  // hash; "" when its From domain has no key.
  std::string signature_fields(std::string_view header_section, std::string_view body_hash,
                               const std::vector<std::string>& headers) const;

  bool empty() const { return by_domain_.empty(); }

 private:
  std::map<std::string, std::vector<dkim::Signer>> by_domain_;
};

class DkimKeyCache {
 public:
  explicit DkimKeyCache(BlockingPool& pool) : pool_(pool) {}

  // The keys, read again first when the copy is older than a minute. A read that fails keeps
  // the copy (logged): mail goes signed as before, or unsigned until the database answers.
  boost::asio::awaitable<std::shared_ptr<const DkimKeys>> current(const schema::SealKeys& seal_keys);

  // The keys changed: the next current() reads them again. Any thread (the listener's).
  void invalidate();

 private:
  BlockingPool& pool_;
  std::mutex mutex_;
  std::shared_ptr<const DkimKeys> keys_;
  std::chrono::steady_clock::time_point loaded_at_;
};

}  // namespace postern::delivery
