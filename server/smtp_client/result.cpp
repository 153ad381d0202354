// See result.hpp.
#include "server/smtp_client/result.hpp"

namespace smtp_client {

RecipientResult RecipientResult::of(smtp::Reply reply) {
  const Outcome outcome = reply.code >= 200 && reply.code < 300 ? Outcome::Delivered
                        : reply.permanent()                      ? Outcome::Permanent
                                                                 : Outcome::Temporary;
  return {outcome, std::move(reply)};
}

TransactionResult failed_attempt(std::size_t recipients, std::string_view enhanced, std::string text) {
  TransactionResult result;
  result.recipients.assign(recipients, RecipientResult::of(smtp::Reply::line(451, enhanced, text)));
  result.error = std::move(text);
  return result;
}

}  // namespace smtp_client
