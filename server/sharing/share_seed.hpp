// How a shared recipient's shares are made, as intake plans them and delivery draws them:
//
//   std::string seed = new_message_seed();                       // stored with the message
//   schema::SharedRecipient planned = plan_shares(position, map);  // the map, copied at intake
//   shares::Seed group = recipient_seed(message.share_seed, recipient.address);
//   shares::SharingParams params = sharing_params(*recipient.shares);
//
// One draw per recipient (its seed derived from the message's and its address): two recipients
// never share a draw, so nobody who holds a share of each can combine them.
#pragma once

#include "postern/schema/queue_store.hpp"
#include "postern/schema/share_maps.hpp"
#include "shares/seed.hpp"
#include "shares/sharing_params.hpp"

#include <string>

namespace postern::sharing {

// 32 random bytes, as postern_queue.share_seed holds them.
std::string new_message_seed();

// The map as the queue keeps it: n of n by XOR without a threshold, else Shamir k of n; each
// destination with its upstream's envelope sender.
schema::SharedRecipient plan_shares(int position, const schema::ShareMap& map);

// The seed of one recipient's draw. Throws std::invalid_argument unless message_seed has 32 bytes.
shares::Seed recipient_seed(const std::string& message_seed, const std::string& recipient);

shares::SharingParams sharing_params(const schema::RecipientShares& shares);

}  // namespace postern::sharing
