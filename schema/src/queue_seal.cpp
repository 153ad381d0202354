// Resealing the queue. See queue_seal.hpp.
#include "postern/schema/queue_seal.hpp"

#include "audit.hpp"
#include "guarded.hpp"
#include "postern/schema/message_chunks.hpp"
#include "postern/schema/queue_store.hpp"

#include <pqxx/pqxx>

namespace postern::schema {
namespace {

constexpr const char* kToReseal =
    "SELECT id FROM postern_queue WHERE seal_key IS DISTINCT FROM $1 ORDER BY created_at, id";

// The message, locked, unless it moved under the key meanwhile or a delivery holds it (a lease
// that runs, or its row locked by a claim right now).
constexpr const char* kLockIdle =
    "SELECT size, COALESCE(seal_key, ''), share_seed, "
    "       EXISTS (SELECT 1 FROM postern_message_chunks c WHERE c.message_id = q.id) "
    "  FROM postern_queue q "
    " WHERE id = $1 AND seal_key IS DISTINCT FROM $2 AND (lease_until IS NULL OR lease_until < now()) "
    "   FOR UPDATE SKIP LOCKED";

constexpr const char* kStillToReseal = "SELECT 1 FROM postern_queue WHERE id = $1 AND seal_key IS DISTINCT FROM $2";

constexpr const char* kChunk = "SELECT data FROM postern_message_chunks WHERE message_id = $1 AND seq = $2";
constexpr const char* kSetChunk = "UPDATE postern_message_chunks SET data = $3 WHERE message_id = $1 AND seq = $2";
constexpr const char* kSetSealed = "UPDATE postern_queue SET seal_key = $2, share_seed = $3 WHERE id = $1";

enum class Resealed { Done, InDelivery, Gone, Legacy };

// One message under `keys.sealing()`, inside the caller's transaction. Throws SealKeyMissing or
// SealBroken when it does not open (the transaction is then abandoned).
Resealed reseal_message(pqxx::transaction_base& tx, const std::string& id, const SealKeys& keys) {
  const SealKey& key = keys.sealing();
  const auto rows = tx.exec_params(kLockIdle, id, key.id);
  if (rows.empty()) return tx.exec_params(kStillToReseal, id, key.id).empty() ? Resealed::Gone : Resealed::InDelivery;
  const auto size = rows[0][0].as<std::uint64_t>();
  const bool sealed = !rows[0][1].as<std::string>().empty();
  if (size > 0 && !rows[0][3].as<bool>()) return Resealed::Legacy;
  const std::int64_t last = last_chunk_seq(size);
  for (std::int64_t seq = 0; size > 0 && seq <= last; ++seq) {
    const auto chunk = tx.exec_params(kChunk, id, seq);
    if (chunk.empty()) throw SealBroken("chunk " + std::to_string(seq) + " of message " + id + " is missing");
    const std::string stored = pqxx::binarystring(chunk[0][0]).str();
    const std::string plain = sealed ? open_chunk(keys, id, seq, seq == last, stored) : stored;
    const std::string resealed = seal_chunk(key, id, seq, seq == last, plain);
    tx.exec_params(kSetChunk, id, seq, pqxx::binarystring(resealed.data(), resealed.size()));
  }
  std::optional<std::string> seed;
  if (!rows[0][2].is_null()) {
    const std::string stored = pqxx::binarystring(rows[0][2]).str();
    const std::string plain = sealed ? open_field(keys, id, kShareSeedField, stored) : stored;
    seed = seal_field(key, id, kShareSeedField, plain);
  }
  if (seed) {
    tx.exec_params(kSetSealed, id, key.id, pqxx::binarystring(seed->data(), seed->size()));
  } else {
    tx.exec_params(kSetSealed, id, key.id, nullptr);
  }
  return Resealed::Done;
}

}  // namespace

ResealOutcome reseal_queue(pqxx::connection_base& db, const SealKeys& keys, const std::string& actor) {
  return guarded([&] {
    ResealOutcome outcome;
    std::vector<std::string> ids;
    {
      pqxx::nontransaction tx{db};
      for (const auto& row : tx.exec_params(kToReseal, keys.sealing().id)) ids.push_back(row[0].as<std::string>());
    }
    for (const std::string& id : ids) {
      pqxx::work tx{db};
      Resealed result;
      try {
        result = reseal_message(tx, id, keys);
      } catch (const SealKeyMissing& e) {
        outcome.unopenable.push_back(id + ": " + e.what());
        continue;
      } catch (const SealBroken& e) {
        outcome.unopenable.push_back(id + ": " + e.what());
        continue;
      }
      switch (result) {
        case Resealed::Done: ++outcome.resealed; break;
        case Resealed::InDelivery: ++outcome.in_delivery; break;
        case Resealed::Legacy: ++outcome.legacy; break;
        case Resealed::Gone: break;  // delivered or deleted meanwhile
      }
      tx.commit();
    }
    pqxx::work tx{db};
    record_audit(tx, actor, "queue reseal", keys.sealing().id, std::to_string(outcome.resealed) + " messages");
    tx.commit();
    return outcome;
  });
}

}  // namespace postern::schema
