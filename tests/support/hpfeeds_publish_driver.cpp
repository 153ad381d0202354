// hpfeeds-publish-driver: runs HpfeedsPublisher::publish() against a real hpfeeds broker, for
// tests/e2e/test_hpfeeds_publisher.py. Prints one line per publish as it completes:
// "delivered", "deferred: <detail>" or "failed: <detail>".
//
//   hpfeeds-publish-driver --host 127.0.0.1 --port 10000 [--security none|tls] [--ca FILE]
//       [--no-verify] --ident I --secret S --channels a,b [--timeout S] [--grace MS]
//       [--max-frame BYTES] [--idle S] [--format raw|json] [--repeat N] [--concurrent N]
//       [--summary] [--verbose] (FILE... | --stdin-paths)
//
// Each FILE is one payload ("-": standard input), published as is (--format raw) or as
// journal_payload's JSON of the file (--format json). --repeat N publishes the files N times
// one after the other; --concurrent N runs N such sequences at once, on one publisher.
// --stdin-paths instead reads payload file names from standard input, one per line, and
// publishes each when its line arrives, after the previous one completed: a test can change
// the broker between two publishes of the same publisher. --summary writes the count and the
// rate to standard error at the end.
#include "server/delivery/hpfeeds_publisher.hpp"
#include "server/delivery/journal_publish.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
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

bool read_file(const std::string& path, std::string& out) {
  if (path == "-") {
    out.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  out.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return true;
}

std::string line_of(const JournalResult& result) {
  switch (result.kind) {
    case JournalResult::Kind::Delivered: return "delivered";
    case JournalResult::Kind::Deferred: return "deferred: " + result.detail;
    case JournalResult::Kind::Failed: return "failed: " + result.detail;
  }
  return "unknown";
}

std::mutex print_mutex;

void print(const JournalResult& result) {
  std::lock_guard lock{print_mutex};
  std::cout << line_of(result) << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<std::string> kFlags{"--no-verify", "--verbose", "--summary", "--stdin-paths"};
  std::map<std::string, std::string> options;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (std::find(kFlags.begin(), kFlags.end(), arg) != kFlags.end()) {
      options[arg] = "1";
    } else if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      options[arg] = argv[++i];
    } else if (arg.rfind("--", 0) != 0) {
      files.push_back(arg);
    } else {
      std::cerr << "bad argument: " << arg << "\n";
      return 2;
    }
  }
  auto get = [&](const std::string& key, const std::string& fallback = "") {
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second;
  };
  const bool stdin_paths = options.count("--stdin-paths") > 0;
  if (get("--host").empty() || get("--port").empty() || (files.empty() && !stdin_paths)) {
    std::cerr << "usage: hpfeeds-publish-driver --host H --port P --ident I --secret S --channels a,b FILE...\n";
    return 2;
  }
  postern::log::set_level(options.count("--verbose") ? postern::log::Level::Debug : postern::log::Level::Warning);

  Upstream upstream;
  upstream.name = "journal";
  upstream.kind = UpstreamKind::Hpfeeds;
  upstream.host = get("--host");
  upstream.port = static_cast<std::uint16_t>(std::stoi(get("--port")));
  upstream.security = get("--security", "none") == "tls" ? UpstreamSecurity::Tls : UpstreamSecurity::None;
  upstream.ca_file = get("--ca");
  upstream.verify_certificate = !options.count("--no-verify");
  upstream.timeout_seconds = static_cast<unsigned>(std::stoul(get("--timeout", "10")));
  upstream.idle_seconds = static_cast<unsigned>(std::stoul(get("--idle", "30")));
  upstream.hpfeeds.ident = get("--ident");
  upstream.hpfeeds.secret = get("--secret");
  upstream.hpfeeds.channels = split(get("--channels"));
  upstream.hpfeeds.error_grace_milliseconds = static_cast<unsigned>(std::stoul(get("--grace", "200")));
  if (!get("--max-frame").empty()) upstream.hpfeeds.max_frame_bytes = std::stoul(get("--max-frame"));
  const JournalFormat format = get("--format", "raw") == "json" ? JournalFormat::Json : JournalFormat::Raw;

  auto payload_of = [&](const std::string& path) -> std::shared_ptr<const std::string> {
    std::string data;
    if (!read_file(path, data)) {
      std::cerr << "cannot read " << path << "\n";
      std::exit(2);
    }
    return std::make_shared<const std::string>(format == JournalFormat::Raw ? data : journal_payload(data, format));
  };

  // Several threads, as in the relay, so that concurrent publish() calls come from several.
  asio::io_context io{2};
  auto work = asio::make_work_guard(io);
  HpfeedsPublisher publisher{io.get_executor(), upstream};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });

  const auto started = std::chrono::steady_clock::now();
  std::size_t published = 0;
  if (stdin_paths) {
    std::string path;
    while (std::getline(std::cin, path)) {
      if (path.empty()) continue;
      auto payload = payload_of(path);
      auto done = asio::co_spawn(io, [&publisher, payload]() -> asio::awaitable<void> {
        JournalResult result = co_await publisher.publish(payload);
        print(result);
      }, asio::use_future);
      done.get();
      ++published;
    }
  } else {
    std::vector<std::shared_ptr<const std::string>> payloads;
    for (const std::string& path : files) payloads.push_back(payload_of(path));
    const unsigned repeat = static_cast<unsigned>(std::stoul(get("--repeat", "1")));
    const unsigned concurrent = static_cast<unsigned>(std::stoul(get("--concurrent", "1")));
    std::vector<std::future<void>> running;
    for (unsigned c = 0; c < concurrent; ++c) {
      running.push_back(asio::co_spawn(io, [&publisher, &payloads, repeat]() -> asio::awaitable<void> {
        for (unsigned i = 0; i < repeat; ++i) {
          for (const auto& payload : payloads) {
            JournalResult result = co_await publisher.publish(payload);
            print(result);
          }
        }
      }, asio::use_future));
    }
    for (auto& one : running) one.get();
    published = std::size_t{concurrent} * repeat * payloads.size();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (options.count("--summary")) {
    std::cerr << "published " << published << " in " << seconds << " s (" << published / std::max(seconds, 1e-9)
              << " per second)\n";
  }

  publisher.close();
  work.reset();
  for (auto& thread : threads) thread.join();
  return 0;
}
