// Which kind of listener a message came through: it decides the checks and headers at intake
// (message_intake.hpp) and whether its failures make DSNs; the queue records it.
#pragma once

namespace postern::queue {

enum class Intake {
  Submission,  // an authenticated user: grants, the header From policy, Message-ID and Date added
  Inbound,     // anyone, to the listener's accept_domains: only a Received trace field is added
  Lmtp,        // as Inbound, over LMTP
};

// "submission", "inbound", "lmtp": the queue's intake column, the logs.
const char* intake_name(Intake intake);

}  // namespace postern::queue
