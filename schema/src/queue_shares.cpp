// See queue_shares.hpp.
#include "queue_shares.hpp"

#include "statements.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/seal.hpp"

#include <map>
#include <set>

namespace postern::schema {
namespace {

constexpr Statement kStatements[] = {
    {"queue_share_seed", "UPDATE postern_queue SET share_seed = $2 WHERE id = $1"},
    {"queue_share_recipient",
     "UPDATE postern_queue_recipients SET share_scheme = $3, share_threshold = $4, share_format = NULLIF($5, '') "
     "WHERE message_id = $1 AND position = $2"},
    {"queue_share_target",
     "INSERT INTO postern_queue_destinations (message_id, position, share_index, mailbox, upstream, envelope_from) "
     "VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''))"},
    {"queue_claimed_share_recipients",
     "SELECT r.position, r.share_scheme, r.share_threshold, COALESCE(r.share_format, ''), "
     "       (SELECT count(*) FROM postern_queue_destinations d "
     "         WHERE d.message_id = r.message_id AND d.position = r.position) "
     "  FROM postern_queue_recipients r "
     " WHERE r.message_id = $1 AND r.status = 'pending' AND r.share_scheme IS NOT NULL"},
    {"queue_claimed_shares",
     "SELECT position, share_index, mailbox, upstream, COALESCE(envelope_from, '') "
     "  FROM postern_queue_destinations WHERE message_id = $1 AND status = 'pending' "
     " ORDER BY position, share_index"},
    {"queue_update_share",
     "UPDATE postern_queue_destinations SET status = $4, attempts = attempts + 1, last_reply = $5, "
     "       updated_at = now() WHERE message_id = $1 AND position = $2 AND share_index = $3"},
    // Settled once nothing is pending: failed when a share failed (its DSN went out), else
    // delivered. Left pending otherwise.
    {"queue_settle_shared_recipient",
     "UPDATE postern_queue_recipients r "
     "   SET status = CASE WHEN EXISTS (SELECT 1 FROM postern_queue_destinations d "
     "                                   WHERE d.message_id = r.message_id AND d.position = r.position "
     "                                     AND d.status = 'failed') THEN 'failed' ELSE 'delivered' END, "
     "       attempts = attempts + 1, updated_at = now() "
     " WHERE r.message_id = $1 AND r.position = $2 AND r.status = 'pending' "
     "   AND NOT EXISTS (SELECT 1 FROM postern_queue_destinations d "
     "                    WHERE d.message_id = r.message_id AND d.position = r.position AND d.status = 'pending') "
     "RETURNING r.status"},
};

}  // namespace

const char* status_name(RecipientOutcome outcome) {
  switch (outcome) {
    case RecipientOutcome::Delivered: return "delivered";
    case RecipientOutcome::Failed: return "failed";
    case RecipientOutcome::Deferred: return "pending";
  }
  return "pending";
}

void prepare_share_statements(pqxx::connection_base& db) {
  prepare_all(db, kStatements);
  // Claims by connections without this setting skip messages with shared recipients: they are
  // replicas older than migration 8, which would deliver them in clear (migrations/0008).
  db.set_variable("postern.delivers_shares", "on");
}

void insert_shares(pqxx::transaction_base& tx, const QueuedMessage& message) {
  if (message.shared.empty()) return;
  if (message.share_seed.size() != 32) throw InvalidInput("a message with shared recipients needs a 32-byte seed");
  const std::string seed =
      message.seal ? seal_field(*message.seal, message.id, kShareSeedField, message.share_seed) : message.share_seed;
  tx.exec_prepared("queue_share_seed", message.id, pqxx::binarystring(seed));
  for (const auto& recipient : message.shared) {
    tx.exec_prepared("queue_share_recipient", message.id, recipient.position, recipient.scheme,
                     recipient.threshold, recipient.format);
    for (std::size_t i = 0; i < recipient.targets.size(); ++i) {
      const auto& target = recipient.targets[i];
      tx.exec_prepared("queue_share_target", message.id, recipient.position, static_cast<int>(i + 1), target.mailbox,
                       target.upstream, target.envelope_from);
    }
  }
}

void read_shares(pqxx::transaction_base& tx, ClaimedMessage& message, const std::vector<int>& shared_positions) {
  std::map<int, RecipientShares> shared;
  for (const auto& row : tx.exec_prepared("queue_claimed_share_recipients", message.id)) {
    RecipientShares& shares = shared[row[0].as<int>()];
    shares.scheme = row[1].as<std::string>();
    shares.threshold = row[2].as<int>();
    shares.format = row[3].as<std::string>();
    shares.count = row[4].as<int>();
  }
  for (const auto& row : tx.exec_prepared("queue_claimed_shares", message.id)) {
    auto it = shared.find(row[0].as<int>());
    if (it == shared.end()) continue;  // its recipient is settled already
    it->second.pending.push_back({row[1].as<int>(),
                                  {row[2].as<std::string>(), row[3].as<std::string>(), row[4].as<std::string>()}});
  }
  // A shared recipient never goes in clear: one whose rows are gone since the claim (the message
  // was deleted meanwhile) gets no share to deliver, and stays pending.
  for (int position : shared_positions) shared.try_emplace(position);
  for (auto& recipient : message.recipients) {
    if (auto it = shared.find(recipient.position); it != shared.end()) recipient.shares = std::move(it->second);
  }
}

std::vector<SettledRecipient> record_shares(pqxx::transaction_base& tx, const AttemptRecord& record) {
  std::set<int> touched;
  for (const auto& share : record.shares) {
    tx.exec_prepared("queue_update_share", record.message_id, share.position, share.index, status_name(share.outcome),
                     share.reply);
    touched.insert(share.position);
  }
  std::vector<SettledRecipient> settled;
  for (int position : touched) {
    for (const auto& row : tx.exec_prepared("queue_settle_shared_recipient", record.message_id, position)) {
      const bool failed = row[0].as<std::string>() == "failed";
      settled.push_back({position, failed ? RecipientOutcome::Failed : RecipientOutcome::Delivered});
    }
  }
  return settled;
}

}  // namespace postern::schema
