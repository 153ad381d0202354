// `mailadmin queue reseal`: brings every queued message under the sealing key (the first of
// queue.seal_key_files), so that an older key can be retired, and seals the messages queued
// before sealing was turned on. Each message is resealed in its own transaction, chunk by chunk
// (no statement holds more than one chunk), with its share seed: it is under the old key or the
// new one, never half of each. A message being delivered right now (its lease runs) is left for
// the next run, and so is one that does not open with the keys given.
#pragma once

#include "postern/schema/seal.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

struct ResealOutcome {
  std::size_t resealed = 0;     // now under the sealing key
  std::size_t in_delivery = 0;  // leased right now: run reseal again later
  std::size_t legacy = 0;       // queued whole by a replica older than migration 5: left as they are
  std::vector<std::string> unopenable;  // "ID: why" for those that did not open: left as they are
};

// Needs !keys.empty(). Audited once ("queue reseal", the key id, how many). Throws
// DatabaseUnavailable.
ResealOutcome reseal_queue(pqxx::connection_base& db, const SealKeys& keys, const std::string& actor);

}  // namespace postern::schema
