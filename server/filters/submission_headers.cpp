#include "server/filters/submission_headers.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <vector>

#include "server/filters/header_block.hpp"

namespace postern::filters {
namespace {

constexpr std::size_t kFoldWidth = 78;  // RFC 5322 §2.1.1 SHOULD, CRLF excluded

// Text from the client or configuration, made safe for a trace field: controls (CR, LF among
// them) and the listed characters become "?", so nothing can end the field, open a comment or
// end the stamp early.
std::string sanitized(std::string_view text, std::string_view forbidden) {
  std::string out(text);
  for (auto& c : out) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f || forbidden.find(c) != std::string_view::npos) c = '?';
  }
  return out;
}

std::string comment(std::string_view text) { return "(" + sanitized(text, "()\\") + ")"; }

// RFC 5321 §4.1.3 address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]".
std::string address_literal(std::string_view ip) {
  if (ip == "local") return "local";  // a unix socket: no address
  const bool v6 = ip.find(':') != std::string_view::npos;
  return (v6 ? "[IPv6:" : "[") + sanitized(ip, "[]()\\ ") + "]";
}

// Each inner vector is one line of the field: its phrases are joined by spaces, and a phrase
// that would take the line past kFoldWidth goes to a continuation line of its own (RFC 5322
// §2.2.3 folding; a phrase is never split). Lines after the first start with a tab.
std::string folded(const std::vector<std::vector<std::string>>& lines) {
  std::string out;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    std::size_t width = 0;
    for (std::size_t k = 0; k < lines[n].size(); ++k) {
      const auto& phrase = lines[n][k];
      if (n > 0 || k > 0) {  // else the field's first phrase, which starts with its name
        const bool fold = k == 0 || width + 1 + phrase.size() > kFoldWidth;
        out += fold ? (k == 0 ? "\t" : "\r\n\t") : " ";
        width = fold ? 1 : width + 1;
      }
      out += phrase;
      width += phrase.size();
    }
    out += "\r\n";
  }
  return out;
}

// RFC 3848 §2: ESMTP or LMTP, then S under TLS, then A when authenticated.
std::string protocol_name(const SubmissionContext& ctx) {
  return std::string(ctx.lmtp ? "LMTP" : "ESMTP") + (ctx.tls ? "S" : "") + (ctx.auth_user.empty() ? "" : "A");
}

// RFC 5321 §4.4 Time-stamp-line, with the TLS parameters (and, when configured, the
// authenticated user) as comments and the protocol named per RFC 3848 §2 (ESMTPA, or ESMTPSA under TLS).
std::string received(const SubmissionContext& ctx) {
  std::vector<std::vector<std::string>> lines{
      {"Received: from " + sanitized(ctx.client_helo, " ()<>\\;\""),
       "(" + address_literal(ctx.client_ip) + ")"},
      {"by " + ctx.hostname, "(Postern)", "with " + protocol_name(ctx), "id " + ctx.queue_id}};
  if (ctx.tls && (!ctx.tls_version.empty() || !ctx.tls_cipher.empty())) {
    std::string using_tls = ctx.tls_version.empty() ? "" : "using " + ctx.tls_version;
    if (!ctx.tls_cipher.empty()) {
      using_tls += (using_tls.empty() ? "" : " ") + std::string("with cipher ") + ctx.tls_cipher;
    }
    lines.push_back({comment(using_tls)});
  }
  if (ctx.received_shows_user && !ctx.auth_user.empty()) {
    lines.push_back({comment("authenticated user " + ctx.auth_user)});
  }
  if (!ctx.envelope_recipient_if_single.empty()) {
    lines.push_back({"for <" + sanitized(ctx.envelope_recipient_if_single, "<>") + ">"});
  }
  lines.back().back() += ';';
  lines.back().push_back(rfc5322_date(ctx.now));
  return folded(lines);
}

// The trace lines that go before the client's header section.
std::string prepended(const SubmissionContext& ctx) {
  std::string out;
  if (ctx.add_received) out += received(ctx);
  if (ctx.add_x_peer) out += "X-Peer: " + sanitized(ctx.client_ip, "") + "\r\n";
  return out;
}

// RFC 6409 §8.2 (Date) and §8.3 (Message-ID): added only when the client sent none.
std::string missing(const HeaderBlock& block, const SubmissionContext& ctx) {
  std::string out;
  if (ctx.add_message_id && count_fields(block, "Message-ID") == 0) {
    out += "Message-ID: <" + ctx.queue_id + "@" + ctx.hostname + ">\r\n";
  }
  if (ctx.add_date && count_fields(block, "Date") == 0) {
    out += "Date: " + rfc5322_date(ctx.now) + "\r\n";
  }
  return out;
}

std::string two_digits(unsigned value) {
  return {static_cast<char>('0' + value / 10 % 10), static_cast<char>('0' + value % 10)};
}

}  // namespace

std::string rfc5322_date(std::time_t time) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const sys_seconds stamp{seconds{time}};
  const auto day = floor<days>(stamp);
  const year_month_day date{day};
  const hh_mm_ss clock{stamp - day};
  return std::string(kDays[weekday{day}.c_encoding()]) + ", " +
         std::to_string(static_cast<unsigned>(date.day())) + " " +
         kMonths[static_cast<unsigned>(date.month()) - 1] + " " +
         std::to_string(static_cast<int>(date.year())) + " " +
         two_digits(static_cast<unsigned>(clock.hours().count())) + ":" +
         two_digits(static_cast<unsigned>(clock.minutes().count())) + ":" +
         two_digits(static_cast<unsigned>(clock.seconds().count())) + " +0000";
}

std::string submission_headers(std::string_view message, const SubmissionContext& ctx) {
  return prepended(ctx) + missing(parse_header_block(message), ctx);
}

std::string apply_submission_headers(std::string message, const SubmissionContext& ctx) {
  const auto block = parse_header_block(message);
  auto added = missing(block, ctx);
  if (!added.empty()) {
    const std::string_view header{message.data(), block.header_end};
    if (!header.empty() && !header.ends_with("\r\n")) added.insert(0, "\r\n");
    message.insert(block.header_end, added);
  }
  message.insert(0, prepended(ctx));
  return message;
}

}  // namespace postern::filters
