#include "shares/privmail_message_shape.hpp"

#include "shares/base64_lines.hpp"
#include "shares/encoded_words.hpp"
#include "shares/mail_header_section.hpp"
#include "shares/quoted_printable.hpp"

#include <algorithm>
#include <tuple>
#include <vector>

namespace postern::shares {
namespace {

constexpr std::string_view kCarries =
    "the privmail share format carries only a Subject and a single text/plain body, in 7-bit ASCII";

// A value from the message, fit to quote in a reply: printable ASCII, at most 40 characters.
std::string quoted(std::string_view value) {
  std::string out;
  for (const char c : value.substr(0, 40)) out += c >= ' ' && c <= '~' ? c : '?';
  if (value.size() > 40) out += "...";
  return "\"" + out + "\"";
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Charsets in which 7-bit ASCII bytes mean the ASCII characters, as Python decodes them.
bool is_ascii_compatible(std::string_view charset) {
  const std::string name = ascii_lower(charset);
  for (const std::string_view exact : {"us-ascii", "ascii", "ansi_x3.4-1968", "utf-8", "utf8", "latin1", "latin-1"}) {
    if (name == exact) return true;
  }
  for (const std::string_view prefix : {"iso-8859-", "iso8859-", "iso_8859-", "windows-125", "cp125"}) {
    if (name.starts_with(prefix) && name.size() > prefix.size()) return true;
  }
  return false;
}

// The text after the colon without its line breaks and leading white space, as Python's email
// package reads an unstructured field.
std::string unfolded(std::string_view raw) {
  std::string out;
  for (const char c : raw) {
    if (c != '\r' && c != '\n') out += c;
  }
  const std::size_t start = out.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : out.substr(start);
}

// The field as written, leading white space and the final line break gone, line ends as CRLF.
std::string as_written(std::string_view raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') continue;
    if (raw[i] == '\n') {
      out += "\r\n";
    } else {
      out += raw[i];
    }
  }
  while (out.ends_with("\r\n")) out.resize(out.size() - 2);
  const std::size_t start = out.find_first_not_of(" \t");
  return start == std::string::npos ? std::string() : out.substr(start);
}

PrivmailShape refuse(std::string problem) { return PrivmailShape{std::nullopt, std::move(problem)}; }

struct Decoded {
  std::string text;
  std::string problem;
};

Decoded decode_body(std::string_view body, std::string_view transfer_encoding) {
  const std::string encoding = ascii_lower(transfer_encoding);
  if (encoding.empty() || encoding == "7bit" || encoding == "8bit" || encoding == "binary") {
    return Decoded{std::string(body), {}};
  }
  if (encoding == "quoted-printable") return Decoded{decode_quoted_printable(body), {}};
  if (encoding == "base64") {
    std::optional<std::string> bytes = decode_base64_lines(body);
    if (!bytes) return Decoded{{}, "the body is not valid base64"};
    return Decoded{std::move(*bytes), {}};
  }
  return Decoded{{}, "the body's Content-Transfer-Encoding is " + quoted(transfer_encoding) + "; " + std::string(kCarries)};
}

}  // namespace

std::string privmail_size_problem(std::uint64_t message_size) {
  if (message_size <= kPrivmailMaxMessageSize) return {};
  return "the message has " + std::to_string(message_size) + " bytes; the privmail share format carries at most " +
         std::to_string(kPrivmailMaxMessageSize);
}

PrivmailShape check_privmail_shape(std::string_view message) {
  if (std::string problem = privmail_size_problem(message.size()); !problem.empty()) return refuse(problem);
  const HeaderSection head = read_header_section(message);
  if (head.skipped_lines > 0) return refuse("the header section has a line that is no header field");
  for (const std::string_view name : {"Subject", "Content-Type", "Content-Transfer-Encoding", "From", "To", "Cc"}) {
    if (const std::size_t count = find_fields(head.fields, ascii_lower(name)).size(); count > 1) {
      return refuse("the message has " + std::to_string(count) + " " + std::string(name) + " fields");
    }
  }

  const std::string content_type = first_field_value(head.fields, "content-type");
  const std::string type = media_type(content_type);
  if (type.starts_with("multipart/")) return refuse("the message is " + quoted(type) + "; " + std::string(kCarries));
  if (!type.empty() && type != "text/plain") return refuse("the body is " + quoted(type) + "; " + std::string(kCarries));
  if (media_type(first_field_value(head.fields, "content-disposition")) == "attachment") {
    return refuse("the body is an attachment; " + std::string(kCarries));
  }
  if (const std::optional<std::string> charset = content_type_parameter(content_type, "charset");
      charset && !is_ascii_compatible(*charset)) {
    return refuse("the body's charset is " + quoted(*charset) + "; " + std::string(kCarries));
  }
  Decoded body = decode_body(message.substr(head.body_start),
                             first_field_value(head.fields, "content-transfer-encoding"));
  if (!body.problem.empty()) return refuse(body.problem);
  if (!is_ascii(body.text)) {
    return refuse("the body has non-ASCII characters (PrivMail would turn each into '?'); " + std::string(kCarries));
  }

  PrivmailContent content;
  content.text = std::move(body.text);
  if (const std::vector<const HeaderField*> subject = find_fields(head.fields, "subject"); !subject.empty()) {
    const std::string value = unfolded(subject.front()->raw);
    if (!is_ascii(value)) return refuse("the Subject has non-ASCII characters; " + std::string(kCarries));
    DecodedWords decoded = decode_encoded_words(value);
    if (!decoded.error.empty()) return refuse("the Subject is malformed: " + decoded.error);
    for (const std::string& charset : decoded.charsets) {
      if (!is_ascii_compatible(charset)) {
        return refuse("the Subject is encoded in charset " + quoted(charset) + "; " + std::string(kCarries));
      }
    }
    if (!is_ascii(decoded.bytes)) {
      return refuse("the Subject has non-ASCII characters (PrivMail would turn each into '?'); " + std::string(kCarries));
    }
    if (decoded.bytes.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return refuse("the Subject holds a line break or NUL");
    }
    if (decoded.bytes.size() > kPrivmailMaxSubjectLength) {
      return refuse("the Subject has " + std::to_string(decoded.bytes.size()) +
                    " characters; the privmail share format carries at most " +
                    std::to_string(kPrivmailMaxSubjectLength));
    }
    content.subject = std::move(decoded.bytes);
  }
  const auto copy = [&](std::string_view name, std::string_view shown, std::optional<std::string>& out) -> std::string {
    const std::vector<const HeaderField*> found = find_fields(head.fields, name);
    if (found.empty()) return {};
    if (!is_ascii(found.front()->raw)) return "the " + std::string(shown) + " field has non-ASCII characters";
    if (found.front()->raw.find('\0') != std::string::npos) return "the " + std::string(shown) + " field holds a NUL";
    out = as_written(found.front()->raw);
    return {};
  };
  for (const auto& [name, shown, out] : {std::tuple{"from", "From", &content.from}, std::tuple{"to", "To", &content.to},
                                         std::tuple{"cc", "Cc", &content.cc}}) {
    if (std::string problem = copy(name, shown, *out); !problem.empty()) {
      return refuse(problem + " (it travels in clear in each 7-bit share mail)");
    }
  }
  return PrivmailShape{std::move(content), {}};
}

}  // namespace postern::shares
