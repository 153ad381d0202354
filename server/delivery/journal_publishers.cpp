// See journal_publish.hpp: the publisher of each journal kind.
#include "server/delivery/amqp_publisher.hpp"
#include "server/delivery/hpfeeds_publisher.hpp"
#include "server/delivery/journal_publish.hpp"

#include <stdexcept>

namespace postern::delivery {

std::unique_ptr<JournalPublisher> make_journal_publisher(boost::asio::any_io_executor executor,
                                                         const Upstream& upstream) {
  switch (upstream.kind) {
    case UpstreamKind::Amqp:
      return std::make_unique<AmqpPublisher>(upstream);
    case UpstreamKind::Hpfeeds:
      return std::make_unique<HpfeedsPublisher>(std::move(executor), upstream);
    default:
      break;
  }
  throw std::logic_error("upstream " + upstream.name + " is not a journal");
}

}  // namespace postern::delivery
