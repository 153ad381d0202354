// See dkim_key_cache.hpp.
#include "server/delivery/dkim_key_cache.hpp"

#include "postern/schema/dkim_keys.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"

#include <ctime>

namespace postern::delivery {
namespace {

constexpr auto kMaxAge = std::chrono::minutes(1);

// The keys that open and parse, by domain; the others are logged and left out.
std::shared_ptr<const DkimKeys> load(BlockingContext& context, const schema::SealKeys& seal_keys) {
  std::vector<std::string> unusable;
  std::map<std::string, std::vector<dkim::Signer>> by_domain;
  for (const schema::DkimSigningKey& key : schema::dkim_signing_keys(context.store().connection(), seal_keys, unusable)) {
    try {
      by_domain[key.domain].push_back(dkim::Signer{
          key.domain, key.selector,
          dkim::SigningKey::from_pem(dkim::algorithm_from_name(key.algorithm), key.private_pem)});
    } catch (const std::exception& e) {
      unusable.push_back(key.selector + "._domainkey." + key.domain + ": " + e.what());
    }
  }
  for (const std::string& why : unusable) log::warning("dkim_key_unusable", {{"reason", why}});
  return std::make_shared<const DkimKeys>(std::move(by_domain));
}

}  // namespace

const std::vector<dkim::Signer>* DkimKeys::signers_for(std::string_view domain) const {
  while (!domain.empty()) {
    if (auto it = by_domain_.find(std::string(domain)); it != by_domain_.end()) return &it->second;
    const std::size_t dot = domain.find('.');
    if (dot == std::string_view::npos) break;
    domain.remove_prefix(dot + 1);
    if (domain.find('.') == std::string_view::npos) break;  // never a top-level domain's key
  }
  return nullptr;
}

std::string DkimKeys::signature_fields(std::string_view header_section, std::string_view body_hash,
                                       const std::vector<std::string>& headers) const {
  const std::vector<dkim::Signer>* signers = signers_for(dkim::header_from_domain(header_section));
  if (signers == nullptr) return {};
  const std::time_t now = std::time(nullptr);
  std::string fields;
  for (const dkim::Signer& signer : *signers) {
    fields += dkim::signature_field(header_section, body_hash, signer, headers, now);
  }
  return fields;
}

void DkimKeyCache::invalidate() {
  std::lock_guard lock(mutex_);
  loaded_at_ = {};
}

boost::asio::awaitable<std::shared_ptr<const DkimKeys>> DkimKeyCache::current(const schema::SealKeys& seal_keys) {
  std::shared_ptr<const DkimKeys> held;
  {
    std::lock_guard lock(mutex_);
    if (keys_ && loaded_at_ != std::chrono::steady_clock::time_point{} &&
        std::chrono::steady_clock::now() - loaded_at_ < kMaxAge) {
      co_return keys_;
    }
    held = keys_;
  }
  try {
    std::shared_ptr<const DkimKeys> loaded = co_await pool_.run(
        [](BlockingContext& c, const schema::SealKeys& keys) { return load(c, keys); }, seal_keys);
    std::lock_guard lock(mutex_);
    keys_ = loaded;
    loaded_at_ = std::chrono::steady_clock::now();
    co_return loaded;
  } catch (const std::exception& e) {
    log::warning("dkim_keys_unreadable", {{"error", e.what()}});
  }
  co_return held ? held : std::make_shared<const DkimKeys>(std::map<std::string, std::vector<dkim::Signer>>{});
}

}  // namespace postern::delivery
