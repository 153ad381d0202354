// amqp-publish-driver: runs AmqpPublisher::publish() against a real RabbitMQ broker, for
// tests/e2e/test_amqp_publisher.py. One publisher serves the whole run; each message's result is
// one line: "delivered", "deferred: <detail>" or "failed: <detail>".
//
//   amqp-publish-driver --host 127.0.0.1 --port 5672 [--security none|tls] [--ca FILE] [--no-verify]
//       --user U --password P [--vhost V] [--exchange E] [--exchange-type T] [--no-declare]
//       [--routing-key K] [--transient] [--no-mandatory] [--format raw|json] [--timeout S]
//       [--max-connections N] [--concurrent N] [--stdin] [--verbose] [FILE...]
//
// Each FILE is a message, published in order (its payload built by journal_payload in the
// --format); --concurrent N publishes N copies of each at once and prints N lines. With --stdin
// the files are read from standard input, one name per line, each published when its line
// arrives: a test can stop and restart the broker between two messages of the same publisher.
#include "server/delivery/amqp_publisher.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace postern::delivery;

namespace {

std::string line_of(const JournalResult& result) {
  switch (result.kind) {
    case JournalResult::Kind::Delivered:
      return "delivered";
    case JournalResult::Kind::Deferred:
      return "deferred: " + result.detail;
    case JournalResult::Kind::Failed:
      return "failed: " + result.detail;
  }
  return "unknown";
}

bool read_file(const std::string& name, std::string& data) {
  std::ifstream file(name, std::ios::binary);
  if (!file) return false;
  data.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> options;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--no-verify" || arg == "--no-declare" || arg == "--transient" || arg == "--no-mandatory" ||
        arg == "--stdin" || arg == "--verbose") {
      options[arg] = "1";
    } else if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      options[arg] = argv[++i];
    } else if (arg.rfind("--", 0) == 0) {
      std::cerr << "bad argument: " << arg << "\n";
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  auto get = [&](const std::string& key, const std::string& fallback = "") {
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
  };
  if (get("--host").empty() || (files.empty() && !options.count("--stdin"))) {
    std::cerr << "usage: amqp-publish-driver --host H --port P --user U --password P [options] FILE...\n";
    return 2;
  }
  postern::log::set_level(options.count("--verbose") ? postern::log::Level::Debug : postern::log::Level::Warning);

  Upstream upstream;
  upstream.name = "test";
  upstream.kind = UpstreamKind::Amqp;
  upstream.host = get("--host");
  upstream.port = static_cast<std::uint16_t>(std::stoi(get("--port", "5672")));
  upstream.security = get("--security", "none") == "tls" ? UpstreamSecurity::Tls : UpstreamSecurity::None;
  upstream.ca_file = get("--ca");
  upstream.verify_certificate = !options.count("--no-verify");
  upstream.username = get("--user");
  upstream.password = get("--password");
  upstream.timeout_seconds = static_cast<unsigned>(std::stoul(get("--timeout", "10")));
  upstream.max_connections = static_cast<unsigned>(std::stoul(get("--max-connections", "4")));
  AmqpSettings& amqp = upstream.amqp;
  amqp.vhost = get("--vhost", amqp.vhost);
  amqp.exchange = get("--exchange", amqp.exchange);
  amqp.exchange_type = get("--exchange-type", amqp.exchange_type);
  amqp.declare_exchange = !options.count("--no-declare");
  amqp.routing_key = get("--routing-key", amqp.routing_key);
  amqp.persistent = !options.count("--transient");
  amqp.mandatory = !options.count("--no-mandatory");
  amqp.format = get("--format", "raw") == "json" ? JournalFormat::Json : JournalFormat::Raw;
  const unsigned concurrent = static_cast<unsigned>(std::stoul(get("--concurrent", "1")));

  // Two I/O threads, as in the relay: the publisher resumes its callers on them.
  asio::io_context io{2};
  auto guard = asio::make_work_guard(io);
  std::thread first([&] { io.run(); });
  std::thread second([&] { io.run(); });

  int status = 0;
  {
    AmqpPublisher publisher{upstream};
    auto publish_file = [&](const std::string& name) {
      std::string data;
      if (!read_file(name, data)) {
        std::cerr << "cannot read " << name << "\n";
        status = 2;
        return;
      }
      auto payload = std::make_shared<const std::string>(journal_payload(data, amqp.format));
      std::vector<std::future<JournalResult>> results;
      for (unsigned c = 0; c < concurrent; ++c) {
        results.push_back(asio::co_spawn(io, publisher.publish(payload), asio::use_future));
      }
      for (auto& result : results) std::cout << line_of(result.get()) << std::endl;
    };
    for (const auto& name : files) publish_file(name);
    if (options.count("--stdin")) {
      for (std::string name; std::getline(std::cin, name);) {
        if (!name.empty()) publish_file(name);
      }
    }
    publisher.close();
  }
  guard.reset();
  first.join();
  second.join();
  return status;
}
