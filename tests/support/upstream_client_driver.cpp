// upstream-client-driver: runs UpstreamPool::deliver() against a real SMTP server, for
// tests/e2e/test_upstream_client.py. Prints, for each message, one line per recipient
// "<code> <reply>" and, when the attempt failed as a whole, "error: <text>". With --repeat or
// --concurrent above 1 each message's lines follow a "message <n>" line.
//
//   upstream-client-driver --host 127.0.0.1 --port 2525 --security none|starttls|tls
//       [--ca FILE] [--no-verify] [--user U --password P] [--ehlo NAME] [--timeout S]
//       [--idle S] [--max-connections N] --from ADDR --to a,b --file message.eml
//       [--repeat N] [--pause SECONDS] [--concurrent N] [--8bit] [--smtputf8] [--verbose]
//
// --repeat N sends the message N times one after the other (one connection when the pool
// reuses it), --pause seconds apart; --concurrent N starts N deliveries at once (at most --max-connections sessions).
#include "server/delivery/upstream_pool.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace postern::delivery;

namespace {

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

void print(unsigned index, bool numbered, const smtp_client::TransactionResult& report) {
  std::ostringstream out;
  if (numbered) out << "message " << index << "\n";
  for (const auto& r : report.recipients) out << r.reply.code << " " << r.reply.one_line() << "\n";
  if (!report.error.empty()) out << "error: " << report.error << "\n";
  std::cout << out.str() << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--no-verify" || arg == "--8bit" || arg == "--smtputf8" || arg == "--verbose") {
      options[arg] = "1";
    } else if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      options[arg] = argv[++i];
    } else {
      std::cerr << "bad argument: " << arg << "\n";
      return 2;
    }
  }
  auto get = [&](const std::string& key, const std::string& fallback = "") {
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
  };
  if (get("--host").empty() || get("--file").empty()) {
    std::cerr << "usage: upstream-client-driver --host H --port P --security none|starttls|tls --from A --to a,b --file F\n";
    return 2;
  }
  postern::log::set_level(options.count("--verbose") ? postern::log::Level::Debug : postern::log::Level::Warning);

  Upstream upstream;
  upstream.name = "test";
  upstream.host = get("--host");
  upstream.port = static_cast<std::uint16_t>(std::stoi(get("--port", "25")));
  std::string security = get("--security", "none");
  upstream.security = security == "tls" ? UpstreamSecurity::Tls
                    : security == "starttls" ? UpstreamSecurity::StartTls : UpstreamSecurity::None;
  upstream.ca_file = get("--ca");
  upstream.verify_certificate = !options.count("--no-verify");
  upstream.username = get("--user");
  upstream.password = get("--password");
  upstream.ehlo_name = get("--ehlo");
  upstream.timeout_seconds = static_cast<unsigned>(std::stoul(get("--timeout", "10")));
  upstream.idle_seconds = static_cast<unsigned>(std::stoul(get("--idle", "30")));
  upstream.max_connections = static_cast<unsigned>(std::stoul(get("--max-connections", "4")));

  std::ifstream file(get("--file"), std::ios::binary);
  if (!file) {
    std::cerr << "cannot read " << get("--file") << "\n";
    return 2;
  }
  const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());

  OutboundMessage message;
  message.sender = get("--from");
  message.recipients = split(get("--to"));
  message.eight_bit_mime = options.count("--8bit") > 0;
  message.smtputf8 = options.count("--smtputf8") > 0;

  const double pause = std::stod(get("--pause", "0"));
  const unsigned repeat = static_cast<unsigned>(std::stoul(get("--repeat", "1")));
  const unsigned concurrent = static_cast<unsigned>(std::stoul(get("--concurrent", "1")));
  const bool numbered = repeat > 1 || concurrent > 1;

  // Several threads, as in the relay, so that the pool's locking is exercised.
  asio::io_context io{2};
  UpstreamPool pool{io.get_executor(), upstream, "driver.test"};
  unsigned running = concurrent;
  std::mutex mutex;
  for (unsigned c = 0; c < concurrent; ++c) {
    asio::co_spawn(io, [&, c]() -> asio::awaitable<void> {
      for (unsigned i = 0; i < repeat; ++i) {
        if (i > 0 && pause > 0) {
          asio::steady_timer timer{co_await asio::this_coro::executor};
          timer.expires_after(std::chrono::milliseconds(static_cast<long>(pause * 1000)));
          co_await timer.async_wait(asio::use_awaitable);
        }
        TextBody body{data};  // each delivery reads the file's bytes from the start
        OutboundMessage one = message;
        one.body = &body;
        smtp_client::TransactionResult report = co_await pool.deliver(one);
        print(c * repeat + i + 1, numbered, report);
      }
      std::lock_guard lock{mutex};
      if (--running == 0) pool.close_idle();
    }, asio::detached);
  }
  std::thread second([&] { io.run(); });
  io.run();
  second.join();
  return 0;
}
