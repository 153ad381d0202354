// smtp-load: a load generator for SMTP submission (Postern, or any server with AUTH PLAIN).
//
// N concurrent clients each send M messages, either one message per SMTP session (connect,
// EHLO, [STARTTLS, EHLO,] AUTH, MAIL, RCPT, DATA, QUIT: what most applications do), or all M
// in one session (--reuse), or K per session (--per-session K). It measures each message from
// the moment MAIL FROM is written to the final 250 after the dot, and each session's setup from
// connect to the 235 of AUTH, and prints throughput, latency percentiles and failures by cause.
// A failure is counted, never fatal; every network wait has a timeout. With --no-auth it drives
// an inbound listener (no AUTH), with --lmtp an LMTP one.
//
// With --users N the sessions log in as N users in turn (as many applications, each with an
// account of its own, would); with --login-only a session ends after AUTH, for timing logins or
// warming a server's caches; with --idle N it opens N sessions, takes each to EHLO (after
// STARTTLS with --starttls) and holds them open until SIGINT or SIGTERM, for measuring what idle
// sessions cost a server. --source-range spreads the sessions over local addresses (one
// address has only some 28,000 ports towards one server port, and servers limit connections
// per address).
//
// Standalone on purpose: Boost.Asio is compiled header-only in this one file.
//
// GCC 12 crashed at run time on `co_return co_await f();` and on co_await inside the arguments
// of a call here, so every awaited result is first stored in a named variable, and coroutines
// that are handed temporaries take them by value.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage = R"(usage: smtp-load --user U --password P --from ADDR --to ADDR[,ADDR...] [options]
       smtp-load --idle N [--starttls] [--connections C] [--source-range A-B] [--host H] [--port P]
  --host H           server address (default 127.0.0.1)
  --port P           server port (default 9000)
  --user U           AUTH PLAIN user name (with --users: the names' prefix)
  --password P       AUTH PLAIN password (with --users: every user's)
  --users N          log in as N users in turn, a user per session, round-robin over all
                     clients: U0000, U0001, ... U(N-1), the number in at least 4 digits
  --first-user K     with --users: the first session logs in as user number K (default 0)
  --from ADDR        envelope and header sender; {user} in it stands for the user name
  --to ADDR[,ADDR]   envelope and header recipients
  --connections N    concurrent clients (default 1)
  --messages M       messages per client (default 1)
  --size S           body size in bytes, printable text wrapped at 76 columns (default 4096)
  --starttls         STARTTLS before AUTH (the certificate is not verified)
  --reuse            send a client's M messages in one session; default: one session per message
  --per-session K    send a client's M messages in sessions of K consecutive transactions
  --login-only       each of a client's M sessions ends after AUTH (QUIT), no message is sent;
                     the figures are the sessions' (setup: connect to 235)
  --idle N           open N sessions up to EHLO (with --starttls: after STARTTLS, the handshake
                     and EHLO), --connections at a time, print one line `ready opened=N failed=F
                     seconds=S` once all are open, hold them until SIGINT or SIGTERM, then close
                     them and report; no AUTH and no message (--user, --password, --from and
                     --to are not needed)
  --source-range A-B sessions bind to the IPv4 addresses A to B in turn (e.g.
                     127.0.0.2-127.0.0.41), instead of the one the system picks
  --pipelining       send MAIL, RCPT and DATA in one write (RFC 2920)
  --threads T        I/O threads (default 1)
  --timeout S        seconds allowed for each connect, read, write or handshake (default 30)
  --ehlo NAME        EHLO argument (default smtp-load.example)
  --no-auth          no AUTH (an inbound listener for a trap domain; --user and --password
                     are not needed)
  --lmtp             speak LMTP (RFC 2033): LHLO instead of EHLO, no AUTH, one reply per
                     recipient after the data
  --json             print one JSON object instead of text
  --outcomes FILE    write one line per message that reached DATA: ok (250 after the dot),
                     failed (another reply) or unknown (the session broke after the data was
                     sent: it may be queued), a space, and the message's Message-ID
  --retry-for S      ride out a server restart: a session that cannot be opened is tried again
                     every 100 ms for up to S seconds, and the messages a broken session had not
                     sent wait for the next session instead of failing (default 0: they fail)
)";

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "9000";
  std::string user, password, from;
  std::vector<std::string> to;
  long users = 0;       // 0: every session logs in as `user`
  long first_user = 0;
  bool login_only = false;
  bool no_auth = false;  // --no-auth, --lmtp
  bool lmtp = false;
  long idle = 0;        // > 0: the idle mode, this many sessions
  std::vector<asio::ip::address_v4> sources;  // --source-range; empty: any
  long connections = 1;
  long messages = 1;
  long size = 4096;
  bool starttls = false;
  bool reuse = false;
  long per_session = 1;  // messages per session; --reuse: all of them
  bool pipelining = false;
  long threads = 1;
  long timeout_seconds = 30;
  std::string ehlo = "smtp-load.example";
  bool json = false;
  std::string outcomes_file;  // empty: none written
  long retry_seconds = 0;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

long parse_number(const std::string& name, const std::string& text, long min, long max) {
  try {
    std::size_t used = 0;
    const long v = std::stol(text, &used);
    if (used == text.size() && v >= min && v <= max) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(name + ": expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
                   ", got '" + text + "'");
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// "A-B": the IPv4 addresses from A to B, both included, at most 65536 of them.
std::vector<asio::ip::address_v4> parse_source_range(const std::string& name, const std::string& text) {
  const auto dash = text.find('-');
  error_code ec_first, ec_last;
  const auto first = asio::ip::make_address_v4(text.substr(0, dash), ec_first);
  const auto last = dash == std::string::npos ? first : asio::ip::make_address_v4(text.substr(dash + 1), ec_last);
  if (ec_first || ec_last || last.to_uint() < first.to_uint() || last.to_uint() - first.to_uint() >= 65536) {
    throw UsageError(name + ": expected two IPv4 addresses A-B with A <= B, got '" + text + "'");
  }
  std::vector<asio::ip::address_v4> out;
  for (auto a = first.to_uint(); a <= last.to_uint(); ++a) out.emplace_back(a);
  return out;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    auto flag = [&] {
      if (has_value) throw UsageError(arg + " takes no value");
    };
    auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else if (arg == "--host") o.host = next();
    else if (arg == "--port") o.port = std::to_string(parse_number(arg, next(), 1, 65535));
    else if (arg == "--user") o.user = next();
    else if (arg == "--users") o.users = parse_number(arg, next(), 1, 1000000);
    else if (arg == "--first-user") o.first_user = parse_number(arg, next(), 0, 1000000);
    else if (arg == "--login-only") { flag(); o.login_only = true; }
    else if (arg == "--idle") o.idle = parse_number(arg, next(), 1, 1000000);
    else if (arg == "--source-range") o.sources = parse_source_range(arg, next());
    else if (arg == "--password") o.password = next();
    else if (arg == "--from") o.from = next();
    else if (arg == "--to") o.to = split_commas(next());
    else if (arg == "--connections") o.connections = parse_number(arg, next(), 1, 100000);
    else if (arg == "--messages") o.messages = parse_number(arg, next(), 1, 100000000);
    else if (arg == "--size") o.size = parse_number(arg, next(), 0, 1L << 30);
    else if (arg == "--threads") o.threads = parse_number(arg, next(), 1, 1024);
    else if (arg == "--timeout") o.timeout_seconds = parse_number(arg, next(), 1, 86400);
    else if (arg == "--ehlo") o.ehlo = next();
    else if (arg == "--starttls") { flag(); o.starttls = true; }
    else if (arg == "--per-session") o.per_session = parse_number(arg, next(), 1, 100000000);
    else if (arg == "--reuse") { flag(); o.reuse = true; }
    else if (arg == "--pipelining") { flag(); o.pipelining = true; }
    else if (arg == "--no-auth") { flag(); o.no_auth = true; }
    else if (arg == "--lmtp") { flag(); o.lmtp = o.no_auth = true; }
    else if (arg == "--json") { flag(); o.json = true; }
    else if (arg == "--outcomes") o.outcomes_file = next();
    else if (arg == "--retry-for") o.retry_seconds = parse_number(arg, next(), 0, 86400);
    else throw UsageError("unknown argument " + arg);
  }
  if (o.reuse) o.per_session = o.messages;
  if (o.login_only) o.per_session = 1;
  if (o.idle > 0) return o;  // no AUTH, no message
  if (!o.no_auth && (o.user.empty() || o.password.empty())) throw UsageError("--user and --password are required");
  if (o.login_only) return o;
  if (o.from.empty() || o.to.empty()) throw UsageError("--from and --to are required");
  return o;
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// `size` bytes (one more when size % 78 == 1) of printable text in lines of at most 76
// characters ending in CRLF, dot-stuffed for DATA. About one line in sixty starts with a dot.
std::string make_body(long size) {
  static constexpr std::string_view kChars =
      "abcdefghijklmnopqrstuvwxyz abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM 0123456789 .,;:-'!?";
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next_char = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return kChars[state % kChars.size()];
  };
  std::string out;
  out.reserve(static_cast<std::size_t>(size + size / 50 + 8));
  long remaining = size;
  while (remaining > 0) {
    const long len = std::min<long>(76, std::max<long>(0, remaining - 2));
    std::string line;
    for (long i = 0; i < len; ++i) line += next_char();
    if (!line.empty() && line.front() == '.') out += '.';  // dot-stuffing (RFC 5321 §4.5.2)
    out += line;
    out += "\r\n";
    remaining -= len + 2;
  }
  return out;
}

std::string rfc5322_date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// One user's login and sender: every session has one.
struct Identity {
  std::string auth_command;   // AUTH PLAIN with the initial response
  std::string from;           // the envelope and header sender
  std::string envelope;       // MAIL FROM, RCPT TO..., DATA, each with CRLF
  std::string header_prefix;  // From:, To:, Date:
};

// What every client shares, read-only once the run starts (the counters aside).
struct Run {
  Options opt;
  ssl::context tls{ssl::context::tls_client};
  tcp::resolver::results_type endpoints;
  std::vector<Identity> identities;  // one, or --users of them, taken in turn by the sessions
  std::string body;                  // dot-stuffed, ending in CRLF
  std::atomic<std::uint64_t> seq{0};
  std::atomic<std::uint64_t> next_identity{0};
  std::atomic<std::uint64_t> next_source{0};
};

struct Results {
  std::vector<double> message_ms, setup_ms;
  std::uint64_t ok = 0, failed = 0, sessions_ok = 0, sessions_failed = 0;
  std::map<std::string, std::uint64_t> errors;  // failed messages by cause
  std::vector<std::string> outcomes;             // --outcomes: "ok <Message-ID>", ...

  void merge(Results& other) {
    message_ms.insert(message_ms.end(), other.message_ms.begin(), other.message_ms.end());
    setup_ms.insert(setup_ms.end(), other.setup_ms.begin(), other.setup_ms.end());
    ok += other.ok;
    failed += other.failed;
    sessions_ok += other.sessions_ok;
    sessions_failed += other.sessions_failed;
    for (const auto& [k, v] : other.errors) errors[k] += v;
    outcomes.insert(outcomes.end(), other.outcomes.begin(), other.outcomes.end());
  }
  void fail(const std::string& cause, std::uint64_t count = 1) {
    failed += count;
    errors[cause] += count;
  }
};

struct Reply {
  int code = 0;  // 0: no reply (I/O failure, timeout, malformed); see Session::failure()
  std::string text;
};

// One SMTP connection, plain until STARTTLS. Every wait is bounded by a timer that closes the
// socket when it fires; the timer's handler holds a reference, so the session outlives it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(const asio::any_io_executor& ex, ssl::context& tls, std::chrono::seconds timeout)
      : stream_(ex, tls), timer_(ex), timeout_(timeout) {}

  // From `source` when it is set (--source-range), else from the address the system picks.
  asio::awaitable<bool> connect(const tcp::resolver::results_type& endpoints,
                                std::optional<asio::ip::address_v4> source) {
    error_code ec;
    arm();
    if (source) {
      // Bound to the first endpoint only: a source address fixes the address family.
      auto& socket = stream_.next_layer();
      const tcp::endpoint target = *endpoints.begin();
      socket.open(target.protocol(), ec);
      // The port is chosen at connect time, for the whole 4-tuple: each source address then
      // has the full ephemeral range towards the server.
      if (!ec) socket.set_option(asio::detail::socket_option::boolean<IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT>(true), ec);
      if (!ec) socket.bind(tcp::endpoint(*source, 0), ec);
      if (!ec) co_await socket.async_connect(target, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      co_await asio::async_connect(stream_.next_layer(), endpoints, asio::redirect_error(asio::use_awaitable, ec));
    }
    disarm();
    if (ec) co_return note(ec);
    stream_.next_layer().set_option(tcp::no_delay(true), ec);
    co_return true;
  }

  asio::awaitable<bool> handshake() {
    error_code ec;
    in_.clear();
    arm();
    co_await stream_.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec) co_return note(ec);
    tls_ = true;
    co_return true;
  }

  asio::awaitable<bool> write(std::string bytes) {  // by value: callers pass temporaries
    error_code ec;
    arm();
    if (tls_) co_await asio::async_write(stream_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    else co_await asio::async_write(stream_.next_layer(), asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    disarm();
    if (ec) co_return note(ec);
    co_return true;
  }

  // One reply, multi-line or not; code 0 when none came.
  asio::awaitable<Reply> read_reply() {
    std::string line;
    for (;;) {
      const bool got = co_await read_line(line);
      if (!got) co_return Reply{};
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2])) ||
          (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        failure_ = "malformed reply";
        co_return Reply{};
      }
      if (line.size() > 3 && line[3] == '-') continue;
      co_return Reply{std::stoi(line.substr(0, 3)), line};
    }
  }

  // The idle mode: waits, without a timeout, until the server closes the session or sends
  // something (such as a 421 at its idle timeout), or close() is called. True when the server
  // ended it.
  asio::awaitable<bool> wait_closed() {
    std::array<char, 512> buf;
    error_code ec;
    if (tls_) co_await stream_.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    else co_await stream_.next_layer().async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    co_return !closing_;
  }

  asio::awaitable<Reply> command(std::string line) {
    line += "\r\n";
    const bool sent = co_await write(std::move(line));
    if (!sent) co_return Reply{};
    Reply r = co_await read_reply();
    co_return r;
  }

  void close() {
    error_code ignored;
    closing_ = true;
    timer_.cancel();
    stream_.next_layer().close(ignored);
  }

  // The cause of a failure at `stage`: the reply code, or what happened instead.
  std::string cause(const Reply& r, const std::string& stage) const {
    if (r.code != 0) return std::to_string(r.code) + " (" + stage + ")";
    return failure_ + " (" + stage + ")";
  }

 private:
  void arm() {
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec) return;  // cancelled: the operation finished in time
      self->timed_out_ = true;
      error_code ignored;
      self->stream_.next_layer().close(ignored);
    });
  }
  void disarm() { timer_.cancel(); }

  bool note(const error_code& ec) {
    if (timed_out_) failure_ = "timeout";
    else if (ec == asio::error::eof || ec == asio::error::connection_reset || ec == ssl::error::stream_truncated)
      failure_ = "connection closed";
    else failure_ = ec.message();
    return false;
  }

  asio::awaitable<bool> read_line(std::string& line) {
    for (;;) {
      if (const auto pos = in_.find('\n'); pos != std::string::npos) {
        line.assign(in_, 0, pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        in_.erase(0, pos + 1);
        co_return true;
      }
      if (in_.size() > 65536) {
        failure_ = "reply line too long";
        co_return false;
      }
      std::array<char, 4096> buf;
      error_code ec;
      arm();
      std::size_t n = 0;
      if (tls_) n = co_await stream_.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      else n = co_await stream_.next_layer().async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      disarm();
      if (ec) co_return note(ec);
      in_.append(buf.data(), n);
    }
  }

  ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  std::chrono::seconds timeout_;
  std::string in_;
  std::string failure_ = "no reply";
  bool tls_ = false;
  bool timed_out_ = false;
  bool closing_ = false;
};

// Connect through EHLO (after STARTTLS with --starttls). Returns null, with `cause` set and
// the session closed, on failure.
asio::awaitable<std::shared_ptr<Session>> greet_session(Run& run, std::string& cause) {
  const auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<Session>(ex, run.tls, std::chrono::seconds(run.opt.timeout_seconds));
  auto failed = [&](const Reply& r, const std::string& stage) {
    cause = s->cause(r, stage);
    s->close();
    return nullptr;
  };
  std::optional<asio::ip::address_v4> source;
  if (!run.opt.sources.empty()) {
    source = run.opt.sources[run.next_source.fetch_add(1, std::memory_order_relaxed) % run.opt.sources.size()];
  }
  const bool connected = co_await s->connect(run.endpoints, source);
  if (!connected) co_return failed(Reply{}, "connect");
  Reply r = co_await s->read_reply();
  if (r.code != 220) co_return failed(r, "greeting");
  const std::string hello = run.opt.lmtp ? "LHLO " : "EHLO ";
  r = co_await s->command(hello + run.opt.ehlo);
  if (r.code != 250) co_return failed(r, hello.substr(0, 4));
  if (run.opt.starttls) {
    r = co_await s->command("STARTTLS");
    if (r.code != 220) co_return failed(r, "STARTTLS");
    const bool secured = co_await s->handshake();
    if (!secured) co_return failed(Reply{}, "STARTTLS");
    r = co_await s->command(hello + run.opt.ehlo);
    if (r.code != 250) co_return failed(r, hello.substr(0, 4) + "after STARTTLS");
  }
  co_return s;
}

// Connect through AUTH, as the next identity in turn, which `who` is set to. Returns null, with
// `cause` set, on failure.
asio::awaitable<std::shared_ptr<Session>> open_session(Run& run, Results& res, std::string& cause,
                                                       const Identity*& who) {
  const auto t0 = Clock::now();
  who = &run.identities[run.next_identity.fetch_add(1, std::memory_order_relaxed) % run.identities.size()];
  auto s = co_await greet_session(run, cause);
  if (!s) {
    ++res.sessions_failed;
    co_return nullptr;
  }
  Reply r{235, ""};
  if (!run.opt.no_auth) r = co_await s->command(who->auth_command);
  if (r.code != 235) {
    cause = s->cause(r, "AUTH");
    s->close();
    ++res.sessions_failed;
    co_return nullptr;
  }
  res.setup_ms.push_back(ms_since(t0));
  ++res.sessions_ok;
  co_return s;
}

// One transaction. Returns the cause of failure, empty on success; `alive` turns false when the
// session cannot carry another transaction.
asio::awaitable<std::string> send_message(Session& s, const Identity& who, Run& run, long client, Results& res,
                                          bool& alive) {
  const std::uint64_t n = run.seq.fetch_add(1, std::memory_order_relaxed);
  const std::size_t rcpts = run.opt.to.size();
  std::string cause;
  auto expect = [&](const Reply& r, int code, const std::string& stage) {
    if (r.code == code) return true;
    if (r.code == 0 || r.code == 421) alive = false;
    if (cause.empty()) cause = s.cause(r, stage);
    return false;
  };

  const auto t0 = Clock::now();
  bool data_ok = false;
  if (run.opt.pipelining) {
    const bool sent = co_await s.write(who.envelope);
    if (!sent) {
      alive = false;
      co_return s.cause(Reply{}, "MAIL");
    }
    Reply r = co_await s.read_reply();
    expect(r, 250, "MAIL");
    for (std::size_t i = 0; i < rcpts && alive; ++i) {
      r = co_await s.read_reply();
      expect(r, 250, "RCPT");
    }
    if (alive) {
      r = co_await s.read_reply();
      data_ok = expect(r, 354, "DATA");
    }
  } else {
    Reply r = co_await s.command("MAIL FROM:<" + who.from + ">");
    bool ok = expect(r, 250, "MAIL");
    for (std::size_t i = 0; i < rcpts && ok; ++i) {
      r = co_await s.command("RCPT TO:<" + run.opt.to[i] + ">");
      ok = expect(r, 250, "RCPT");
    }
    if (ok) {
      r = co_await s.command("DATA");
      data_ok = expect(r, 354, "DATA");
    }
  }
  if (data_ok) {
    // After 354 the data must be sent even if a RCPT failed, to keep the dialogue in step.
    std::string message = who.header_prefix;
    message += "Subject: smtp-load message " + std::to_string(n) + "\r\n";
    const std::string message_id = "<" + std::to_string(n) + "." + std::to_string(client) + "." +
                                   std::to_string(::getpid()) + "." + std::to_string(std::time(nullptr)) +
                                   "@smtp-load.example>";
    message += "Message-ID: " + message_id + "\r\n";
    message += "\r\n";
    message += run.body;
    message += ".\r\n";
    // Once the data has left, a broken session says nothing about whether it was queued.
    auto outcome = [&](const char* what) {
      if (!run.opt.outcomes_file.empty()) res.outcomes.push_back(std::string(what) + " " + message_id);
    };
    const bool sent = co_await s.write(std::move(message));
    if (!sent) {
      alive = false;
      outcome("unknown");
      co_return cause.empty() ? s.cause(Reply{}, "end of data") : cause;
    }
    Reply r = co_await s.read_reply();
    expect(r, 250, "end of data");
    // LMTP answers each recipient (RFC 2033 §4.2); they were all accepted, or cause is set.
    for (std::size_t i = 1; run.opt.lmtp && i < rcpts && r.code == 250; ++i) {
      r = co_await s.read_reply();
      expect(r, 250, "end of data");
    }
    outcome(r.code == 250 ? "ok" : r.code == 0 ? "unknown" : "failed");
  }
  if (cause.empty()) {
    res.message_ms.push_back(ms_since(t0));
    co_return cause;
  }
  if (alive) {
    const Reply r = co_await s.command("RSET");
    if (r.code != 250) alive = false;
  }
  co_return cause;
}

// --retry-for: a restarting server refuses connections for a moment; keep trying until the
// deadline rather than failing every message at once.
asio::awaitable<std::shared_ptr<Session>> open_session_retrying(Run& run, Results& res, std::string& cause,
                                                                const Identity*& who) {
  const auto ex = co_await asio::this_coro::executor;
  const auto deadline = Clock::now() + std::chrono::seconds(run.opt.retry_seconds);
  for (;;) {
    auto s = co_await open_session(run, res, cause, who);
    if (s || Clock::now() >= deadline) co_return s;
    asio::steady_timer pause(ex, std::chrono::milliseconds(100));
    error_code ignored;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<void> quit(Session& s) {
  co_await s.command("QUIT");
  s.close();
}

asio::awaitable<void> client(Run& run, long id, Results& out, std::mutex& out_mutex) {
  Results res;
  const long m = run.opt.messages;
  try {
    for (long sent = 0; sent < m;) {
      const long batch = std::min(run.opt.per_session, m - sent);
      std::string cause;
      const Identity* who = nullptr;
      auto s = co_await open_session_retrying(run, res, cause, who);
      if (!s) {
        res.fail(cause, static_cast<std::uint64_t>(batch));
        sent += batch;
        continue;
      }
      if (run.opt.login_only) {  // a session per "message", nothing sent
        ++sent;
        co_await quit(*s);
        continue;
      }
      bool alive = true;
      long done = 0;
      for (; done < batch && alive; ++done) {
        const std::string c = co_await send_message(*s, *who, run, id, res, alive);
        if (c.empty()) ++res.ok;
        else res.fail(c);
      }
      sent += done;
      // Without --retry-for the rest of the batch fails; with it, the next session sends it.
      if (done < batch && run.opt.retry_seconds == 0) {
        res.fail("not sent: session lost", static_cast<std::uint64_t>(batch - done));
        sent += batch - done;
      }
      if (alive) co_await quit(*s);
      else s->close();
    }
  } catch (const std::exception& e) {
    const std::uint64_t done = res.ok + res.failed;
    if (done < static_cast<std::uint64_t>(m)) res.fail(std::string("exception: ") + e.what(), m - done);
  }
  std::lock_guard lock(out_mutex);
  out.merge(res);
}

struct Percentiles {
  std::size_t count = 0;  // samples; the figures mean nothing when 0
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.count = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {  // nearest rank
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
  };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = v.back();
  return p;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// {"reply": count, ...}: the errors seen, by kind.
template <class Counts>
std::string json_counts(const Counts& counts) {
  std::string j = "{";
  for (const auto& [k, v] : counts) {
    if (j.size() > 1) j += ",";
    j += json_string(k) + ":" + std::to_string(v);
  }
  return j + "}";
}

std::string json_percentiles(const Percentiles& p) {
  if (p.count == 0) return "null";
  return "{\"p50\":" + fixed(p.p50, 3) + ",\"p90\":" + fixed(p.p90, 3) + ",\"p99\":" + fixed(p.p99, 3) +
         ",\"max\":" + fixed(p.max, 3) + "}";
}

void report(const Options& o, const Results& r, double wall_s) {
  const Percentiles msg = percentiles(r.message_ms);
  const Percentiles setup = percentiles(r.setup_ms);
  const double rate = wall_s > 0 ? static_cast<double>(r.ok) / wall_s : 0;
  if (o.json) {
    std::string j = "{";
    j += "\"host\":" + json_string(o.host) + ",\"port\":" + o.port;
    j += ",\"connections\":" + std::to_string(o.connections) + ",\"messages_per_connection\":" +
         std::to_string(o.messages) + ",\"size\":" + std::to_string(o.size);
    j += std::string(",\"starttls\":") + (o.starttls ? "true" : "false");
    j += ",\"messages_per_session\":" + std::to_string(std::min(o.per_session, o.messages));
    j += std::string(",\"pipelining\":") + (o.pipelining ? "true" : "false");
    j += ",\"threads\":" + std::to_string(o.threads);
    j += ",\"messages_ok\":" + std::to_string(r.ok) + ",\"messages_failed\":" + std::to_string(r.failed);
    j += ",\"sessions_ok\":" + std::to_string(r.sessions_ok) + ",\"sessions_failed\":" + std::to_string(r.sessions_failed);
    j += ",\"wall_seconds\":" + fixed(wall_s, 3) + ",\"msgs_per_second\":" + fixed(rate, 2);
    j += ",\"latency_ms\":" + json_percentiles(msg) + ",\"setup_ms\":" + json_percentiles(setup);
    j += ",\"errors\":" + json_counts(r.errors) + "}";
    std::cout << j << "\n";
    return;
  }
  std::cout << "smtp-load: " << o.connections << " connections x " << o.messages << " messages, "
            << std::min(o.per_session, o.messages) << " per session, "
            << (o.starttls ? "STARTTLS" : "plaintext") << (o.pipelining ? ", pipelining" : "") << ", "
            << o.size << "-byte body, " << o.host << ":" << o.port << "\n";
  std::cout << "messages:   " << r.ok << " ok, " << r.failed << " failed\n";
  std::cout << "sessions:   " << r.sessions_ok << " ok, " << r.sessions_failed << " failed\n";
  std::cout << "wall time:  " << fixed(wall_s, 3) << " s\n";
  std::cout << "throughput: " << fixed(rate, 1) << " msgs/s\n";
  auto line = [](const Percentiles& p) {
    if (p.count == 0) return std::string("-");
    return "p50 " + fixed(p.p50, 1) + "  p90 " + fixed(p.p90, 1) + "  p99 " + fixed(p.p99, 1) + "  max " +
           fixed(p.max, 1);
  };
  std::cout << "latency ms: " << line(msg) << "   (MAIL FROM written to 250 after the dot)\n";
  std::cout << "setup ms:   " << line(setup) << "   (connect to 235 after AUTH)\n";
  if (r.errors.empty()) {
    std::cout << "errors:     none\n";
  } else {
    std::cout << "errors (failed messages by cause):\n";
    for (const auto& [k, v] : r.errors) std::cout << "  " << v << "  " << k << "\n";
  }
}

// The idle mode. Sessions are opened by --connections coroutines at a time; each open session
// then waits, without a timeout, for the server to end it, so that sessions the server drops
// while they are held are counted.
struct IdleRun {
  IdleRun(Run& r, asio::io_context& io) : run(r), signals(io, SIGINT, SIGTERM) {}
  Run& run;
  asio::signal_set signals;  // SIGINT or SIGTERM ends the hold
  std::mutex mutex;  // guards what follows
  std::vector<std::shared_ptr<Session>> open;
  Results opening;   // setup_ms: connect to the EHLO reply; errors: sessions that failed
  std::uint64_t closed_by_server = 0;
  bool stopping = false;
  std::atomic<long> next{0};
  long openers_left = 0;
  Clock::time_point t0 = Clock::now();
  double open_seconds = 0;
};

asio::awaitable<void> hold(IdleRun& idle, std::shared_ptr<Session> s) {
  const bool by_server = co_await s->wait_closed();
  std::lock_guard lock(idle.mutex);
  if (by_server && !idle.stopping) ++idle.closed_by_server;
}

asio::awaitable<void> idle_opener(IdleRun& idle) {
  const auto ex = co_await asio::this_coro::executor;
  while (idle.next.fetch_add(1) < idle.run.opt.idle) {
    const auto t0 = Clock::now();
    std::string cause;
    auto s = co_await greet_session(idle.run, cause);
    std::lock_guard lock(idle.mutex);
    if (!s) {
      ++idle.opening.sessions_failed;
      idle.opening.fail(cause);
      continue;
    }
    ++idle.opening.sessions_ok;
    idle.opening.setup_ms.push_back(ms_since(t0));
    idle.open.push_back(s);
    asio::co_spawn(ex, hold(idle, s), asio::detached);
  }
  std::lock_guard lock(idle.mutex);
  if (--idle.openers_left == 0) {
    idle.open_seconds = ms_since(idle.t0) / 1000.0;
    std::cout << "ready opened=" << idle.opening.sessions_ok << " failed=" << idle.opening.sessions_failed
              << " seconds=" << fixed(idle.open_seconds, 3) << std::endl;
    if (idle.open.empty()) idle.signals.cancel();  // nothing to hold
  }
}

int run_idle(asio::io_context& io, Run& run) {
  const Options& o = run.opt;
  IdleRun idle(run, io);
  idle.signals.async_wait([&](const error_code& ec, int) {
    if (ec) return;
    std::lock_guard lock(idle.mutex);
    idle.stopping = true;
    for (auto& s : idle.open) s->close();
  });
  idle.openers_left = o.connections;
  for (long i = 0; i < o.connections; ++i) {
    asio::co_spawn(asio::make_strand(io), idle_opener(idle), asio::detached);
  }
  std::vector<std::thread> threads;
  for (long i = 1; i < o.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();

  const Percentiles setup = percentiles(idle.opening.setup_ms);
  const Results& r = idle.opening;
  if (o.json) {
    std::string j = "{\"idle\":" + std::to_string(o.idle) + std::string(",\"starttls\":") +
                    (o.starttls ? "true" : "false");
    j += ",\"opened\":" + std::to_string(r.sessions_ok) + ",\"failed\":" + std::to_string(r.sessions_failed);
    j += ",\"closed_by_server\":" + std::to_string(idle.closed_by_server);
    j += ",\"open_seconds\":" + fixed(idle.open_seconds, 3) + ",\"setup_ms\":" + json_percentiles(setup);
    j += ",\"errors\":" + json_counts(r.errors) + "}";
    std::cout << j << "\n";
    return 0;
  }
  std::cout << "smtp-load --idle: " << o.idle << " sessions to " << o.host << ":" << o.port << ", "
            << (o.starttls ? "after STARTTLS" : "plaintext") << "\n";
  std::cout << "opened:     " << r.sessions_ok << " in " << fixed(idle.open_seconds, 3) << " s, " << r.sessions_failed
            << " failed\n";
  std::cout << "closed by the server while held: " << idle.closed_by_server << "\n";
  if (setup.count > 0) {
    std::cout << "setup ms:   p50 " << fixed(setup.p50, 1) << "  p90 " << fixed(setup.p90, 1) << "  p99 "
              << fixed(setup.p99, 1) << "  max " << fixed(setup.max, 1) << "   (connect to the EHLO reply)\n";
  }
  for (const auto& [k, v] : r.errors) std::cout << "  " << v << "  " << k << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  try {
    opt = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "smtp-load: " << e.what() << "\n" << kUsage;
    return 2;
  }

  asio::io_context io(static_cast<int>(opt.threads));
  Run run;
  run.opt = opt;
  run.tls.set_verify_mode(ssl::verify_none);
  try {
    tcp::resolver resolver(io);
    run.endpoints = resolver.resolve(opt.host, opt.port);
  } catch (const std::exception& e) {
    std::cerr << "smtp-load: cannot resolve " << opt.host << ": " << e.what() << "\n";
    return 1;
  }
  if (opt.idle > 0) return run_idle(io, run);

  std::string rcpts, to_header;
  for (const auto& to : opt.to) {
    rcpts += "RCPT TO:<" + to + ">\r\n";
    to_header += (to_header.empty() ? "" : ", ") + ("<" + to + ">");
  }
  const std::string date = rfc5322_date();
  auto add_identity = [&](const std::string& user) {
    Identity id;
    id.auth_command = "AUTH PLAIN " + base64(std::string(1, '\0') + user + std::string(1, '\0') + opt.password);
    id.from = opt.from;
    for (auto at = id.from.find("{user}"); at != std::string::npos; at = id.from.find("{user}", at + user.size())) {
      id.from.replace(at, 6, user);
    }
    id.envelope = "MAIL FROM:<" + id.from + ">\r\n" + rcpts + "DATA\r\n";
    id.header_prefix = "From: <" + id.from + ">\r\nTo: " + to_header + "\r\nDate: " + date + "\r\n";
    run.identities.push_back(std::move(id));
  };
  if (opt.users == 0) {
    add_identity(opt.user);
  } else {
    const std::size_t digits = std::max<std::size_t>(4, std::to_string(opt.users - 1).size());
    for (long i = 0; i < opt.users; ++i) {
      std::string number = std::to_string(i);
      number.insert(0, digits - number.size(), '0');
      add_identity(opt.user + number);
    }
    run.next_identity = static_cast<std::uint64_t>(opt.first_user);
  }
  run.body = make_body(opt.size);

  Results total;
  std::mutex total_mutex;
  const auto t0 = Clock::now();
  for (long i = 0; i < opt.connections; ++i) {
    asio::co_spawn(asio::make_strand(io), client(run, i, total, total_mutex), asio::detached);
  }
  std::vector<std::thread> threads;
  for (long i = 1; i < opt.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  const double wall_s = ms_since(t0) / 1000.0;

  report(opt, total, wall_s);
  if (!opt.outcomes_file.empty()) {
    std::ofstream outcomes(opt.outcomes_file);
    for (const auto& line : total.outcomes) outcomes << line << "\n";
    if (!outcomes.flush()) {
      std::cerr << "smtp-load: cannot write " << opt.outcomes_file << "\n";
      return 1;
    }
  }
  return 0;
}
