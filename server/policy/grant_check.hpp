// MAIL FROM: may the authenticated user send as this address? Loads the user's grants from
// PostgreSQL (on the blocking pool) and applies the pure sender rule. A lookup that fails is a
// temporary failure, never a pass. The grants are returned too, so the header From check at the
// end of DATA uses the same ones without a second query.
//
//   GrantCheckResult r = co_await grants.check(user, address);
//   protocol.sender_checked(r.outcome);
#pragma once

#include "postern/schema/sender_rule.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::policy {

struct GrantCheckResult {
  smtp::Outcome outcome;      // Accepted, Refused or TemporaryFailure; the protocol words the reply
  schema::UserGrants grants;  // valid when outcome is not TemporaryFailure
  std::string detail;         // for the log: the matching grant or why it was refused
};

class GrantCheck {
 public:
  GrantCheck(BlockingPool& pool, schema::SenderPolicy policy) : pool_(pool), policy_(std::move(policy)) {}

  boost::asio::awaitable<GrantCheckResult> check(const std::string& user, const std::string& address);

 private:
  BlockingPool& pool_;
  schema::SenderPolicy policy_;
};

}  // namespace postern::policy
