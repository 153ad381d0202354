#include "server/delivery/dsn.hpp"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "server/filters/header_block.hpp"
#include "server/filters/submission_headers.hpp"

namespace postern::delivery {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::size_t kFoldAt = 78;    // RFC 5322 §2.1.1: SHOULD be no more than 78
constexpr std::size_t kMaxWord = 900;  // and MUST be no more than 998, so words are cut

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c); }

std::string embedded_unicode(char32_t code_point) {  // RFC 6533 §3: \x{HEXPOINT}
  char text[16];
  std::snprintf(text, sizeof text, "\\x{%X}", static_cast<unsigned>(code_point));
  return text;
}

// The next code point of UTF-8 `text` at `i`, advancing `i`; U+FFFD for an invalid sequence.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i++]);
  if (lead < 0x80) return lead;
  const std::size_t length = lead >= 0xF5   ? 0
                             : lead >= 0xF0 ? 4
                             : lead >= 0xE0 ? 3
                             : lead >= 0xC2 ? 2
                                            : 0;
  if (length == 0 || i + length - 1 > text.size()) return U'\uFFFD';
  char32_t value = lead & (0xFF >> (length + 1));
  for (std::size_t k = 1; k < length; ++k) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) != 0x80) return U'\uFFFD';
    value = (value << 6) | (byte & 0x3F);
    ++i;
  }
  const bool overlong = (length == 3 && value < 0x800) || (length == 4 && value < 0x10000);
  const bool surrogate = value >= 0xD800 && value <= 0xDFFF;
  return overlong || surrogate || value > 0x10FFFF ? U'\uFFFD' : value;
}

// Text for the 7-bit parts: printable ASCII kept, controls (CR and LF included) made spaces,
// anything else escaped. `escape_ascii` names ASCII characters to escape as well.
std::string seven_bit(std::string_view text, std::string_view escape_ascii = "") {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const char32_t c = next_code_point(text, i);
    if (c >= 0x80 || escape_ascii.find(static_cast<char>(c)) != std::string_view::npos) {
      out += embedded_unicode(c);
    } else {
      out += c < 0x20 || c == 0x7F ? ' ' : static_cast<char>(c);
    }
  }
  return out;
}

// RFC 3464 §2.3.2 address-type "rfc822"; a non-ASCII address is type "utf-8" in the
// utf-8-addr-xtext form of RFC 6533 §3, whose QCHAR excludes controls, space, '+', '=' and '\'.
std::string final_recipient(std::string_view address) {
  if (is_ascii(address)) return "rfc822; " + seven_bit(address);
  std::string controls(" +=\\\x7f");
  for (char c = 1; c < 0x20; ++c) controls += c;
  return "utf-8; " + seven_bit(address, controls);
}

// RFC 3463 §2: class.subject.detail, each of 1 to 3 digits, class 2, 4 or 5.
bool is_status(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::size_t dots = 0;
  std::size_t run = 0;
  for (const char c : s.substr(2)) {
    if (c == '.') {
      if (run == 0 || ++dots > 1) return false;
      run = 0;
    } else if (c < '0' || c > '9' || ++run > 3) {
      return false;
    }
  }
  return dots == 1 && run > 0;
}

// RFC 3464 §2.3.6 Diagnostic-Code: diagnostic-type ";" text, as {type, text}.
std::pair<std::string, std::string> split_diagnostic(std::string_view d) {
  const auto semicolon = d.find(';');
  const std::string_view type = d.substr(0, semicolon);
  if (semicolon != std::string_view::npos && !type.empty() && is_alnum(type[0]) &&
      std::all_of(type.begin(), type.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
    std::string_view text = d.substr(semicolon + 1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    return {std::string(type), std::string(text)};
  }
  const bool reply = d.size() >= 3 && d[0] >= '2' && d[0] <= '5' && is_digit(d[1]) &&
                     is_digit(d[2]) && (d.size() == 3 || d[3] == ' ' || d[3] == '-');
  return {reply ? "smtp" : "X-Postern", std::string(d)};
}

// One line of 7-bit text, CRLF-terminated, folded at spaces before column 78 where the words
// allow; continuation lines start with `indent` (whitespace, so that header fields fold). A
// word longer than kMaxWord is cut.
std::string fold(std::string_view text, std::string_view indent) {
  std::string out;
  std::string line;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    const std::string_view word = text.substr(start, std::min(end - start, kMaxWord));
    start = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && line.size() + 1 + word.size() > kFoldAt && line.size() > indent.size()) {
      out += line + std::string(kCrlf);
      line = std::string(indent);
    } else if (!line.empty()) {
      line += ' ';
    }
    line += word;
  }
  return out + line + std::string(kCrlf);
}

std::string field(std::string_view name, std::string_view value) {
  return fold(std::string(name) + ": " + std::string(value), " ");
}

// The original header section with bare CR and LF made CRLF and a final CRLF ensured.
std::string original_headers(std::string_view message) {
  const std::string_view header =
      message.substr(0, filters::parse_header_block(message).header_end);
  std::string out;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == '\r' || header[i] == '\n') {
      out += kCrlf;
      if (header[i] == '\r' && i + 1 < header.size() && header[i + 1] == '\n') ++i;
    } else {
      out += header[i];
    }
  }
  if (!out.empty() && !out.ends_with(kCrlf)) out += kCrlf;
  return out;
}

std::string notification(const DsnInput& in) {
  std::string text = "This is the mail system at " + seven_bit(in.reporting_host) + ".\r\n\r\n";
  text += fold(in.original_header_section.empty()
                   ? "Your message could not be delivered to one or more recipients. The reasons are "
                     "given below."
                   : "Your message could not be delivered to one or more recipients. The reasons are "
                     "given below; the headers of your message are attached.",
               "");
  if (!in.original_queue_id.empty()) {
    text += "\r\nQueue ID: " + seven_bit(in.original_queue_id) + "\r\n";
  }
  for (const FailedRecipient& r : in.failed) {
    const auto [type, diagnostic] = split_diagnostic(r.diagnostic);
    std::string line = "<" + seven_bit(r.address) + ">: ";
    if (!r.remote_mta.empty() && type == "smtp") line += seven_bit(r.remote_mta) + " said: ";
    text += "\r\n" + fold(line + seven_bit(diagnostic), "    ");
  }
  return text;
}

std::string delivery_status(const DsnInput& in) {
  std::string report = field("Reporting-MTA", "dns; " + seven_bit(in.reporting_host));
  if (!in.original_queue_id.empty()) {
    report += field("X-Postern-Queue-ID", seven_bit(in.original_queue_id));
  }
  report += field("Arrival-Date", filters::rfc5322_date(in.arrival_time));
  for (const FailedRecipient& r : in.failed) {  // RFC 3464 §2.3, one block per recipient
    const auto [type, diagnostic] = split_diagnostic(r.diagnostic);
    report += kCrlf;
    report += field("Final-Recipient", final_recipient(r.address));
    report += field("Action", "failed");
    report += field("Status", is_status(r.status) ? r.status : "5.0.0");
    if (!r.remote_mta.empty()) report += field("Remote-MTA", "dns; " + seven_bit(r.remote_mta));
    report += field("Diagnostic-Code", seven_bit(type) + "; " + seven_bit(diagnostic));
    report += field("Last-Attempt-Date", filters::rfc5322_date(in.now));
  }
  return report;
}

std::string letters_and_digits(std::string_view text) {
  std::string out;
  std::copy_if(text.begin(), text.end(), std::back_inserter(out), is_alnum);
  return out.substr(0, 40);  // RFC 2046 §5.1.1: a boundary has at most 70 characters
}

}  // namespace

std::string build_dsn(const DsnInput& in) {
  const std::string seed = letters_and_digits(in.boundary_seed);
  if (in.reporting_host.empty() || in.original_sender.empty() || in.failed.empty() ||
      seed.empty()) {
    throw std::invalid_argument(
        "build_dsn: reporting_host, original_sender, failed and boundary_seed are required");
  }
  const std::string headers = original_headers(in.original_header_section);
  const bool eight_bit = !is_ascii(headers);
  std::vector<std::string> parts = {
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "Content-Description: Notification\r\n\r\n" +
          notification(in),
      "Content-Type: message/delivery-status\r\n"
      "Content-Description: Delivery report\r\n\r\n" +
          delivery_status(in),
  };
  // Without the original's headers (they could not be read), the report ends with its status.
  if (!headers.empty()) {
    parts.push_back("Content-Type: text/rfc822-headers\r\n"
                    "Content-Description: Undelivered message headers\r\n" +
                    std::string(eight_bit ? "Content-Transfer-Encoding: 8bit\r\n" : "") + "\r\n" + headers);
  }
  // RFC 2046 §5.1.1: the boundary must not occur in any part.
  std::string boundary = "postern-dsn-" + seed;
  while (std::any_of(std::begin(parts), std::end(parts), [&](const std::string& part) {
    return part.find("--" + boundary) != std::string::npos;
  })) {
    boundary += "-x";
  }

  std::string message = "From: Mail Delivery System <MAILER-DAEMON@" + in.reporting_host + ">\r\n";
  message += "To: <" + in.original_sender + ">\r\n";
  message += "Subject: Undelivered Mail Returned to Sender\r\n";
  message += "Date: " + filters::rfc5322_date(in.now) + "\r\n";
  message += "Message-ID: <" + seed + ".dsn@" + in.reporting_host + ">\r\n";
  message += "Auto-Submitted: auto-replied\r\n";
  message += "MIME-Version: 1.0\r\n";
  message += "Content-Type: multipart/report; report-type=delivery-status;\r\n";
  message += " boundary=\"" + boundary + "\"\r\n";
  // RFC 2045 §6.4: a multipart is labelled with the widest encoding of its parts.
  if (eight_bit) message += "Content-Transfer-Encoding: 8bit\r\n";
  message += "\r\nThis is a MIME-encapsulated message.\r\n";
  for (const std::string& part : parts) message += "\r\n--" + boundary + "\r\n" + part;
  message += "\r\n--" + boundary + "--\r\n";
  return message;
}

}  // namespace postern::delivery
