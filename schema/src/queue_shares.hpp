// Internal to the queue store: the rows of shared recipients (migration 0008) — written at
// intake beside the message, read with a claim, updated by an attempt's record — and the status
// names both files write.
#pragma once

#include "postern/schema/queue_store.hpp"

#include <pqxx/pqxx>

#include <vector>

namespace postern::schema {

void prepare_share_statements(pqxx::connection_base& db);

// As the status columns hold an outcome: "delivered", "failed", or "pending" (deferred).
const char* status_name(RecipientOutcome outcome);

// The seed, each shared recipient's scheme and its targets; nothing for a message without any.
void insert_shares(pqxx::transaction_base& tx, const QueuedMessage& message);

// For each shared recipient of a claimed message (`shared_positions`, from the claim, which read
// the seed), how its shares are made and those still to deliver.
void read_shares(pqxx::transaction_base& tx, ClaimedMessage& message, const std::vector<int>& shared_positions);

// A shared recipient whose last pending share an attempt settled: delivered, or failed.
struct SettledRecipient {
  int position;
  RecipientOutcome outcome;
};

// Each share's status, then each touched recipient settled once none of its shares is pending;
// returns those it settled.
std::vector<SettledRecipient> record_shares(pqxx::transaction_base& tx, const AttemptRecord& record);

}  // namespace postern::schema
