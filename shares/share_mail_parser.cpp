#include "shares/share_mail_parser.hpp"

#include "shares/base64_lines.hpp"
#include "shares/mail_header_section.hpp"
#include "shares/secret_framing.hpp"

#include <optional>
#include <vector>

namespace postern::shares {
namespace {

struct SharePart {
  std::string_view base64;
  std::string error;
};

SharePart bad_part(std::string reason) { return SharePart{{}, std::move(reason)}; }

// The base64 text of the one application/octet-stream part of a multipart body. A mail cut
// short loses its closing delimiter: its last part then runs to the end, and the share's size
// tells that it is truncated.
SharePart find_share_part(std::string_view mail, std::size_t body_start, const std::string& boundary) {
  const std::string delimiter = "--" + boundary;
  std::optional<SharePart> found;
  std::string error;
  // Looks at the part [start, end): is it the share?
  const auto look_at_part = [&](std::size_t start, std::size_t end) {
    const std::string_view part_and_before = mail.substr(0, end);  // its header cannot run past end
    const HeaderSection part = read_header_section(part_and_before, start);
    const std::vector<HeaderField>& fields = part.fields;
    const std::size_t body = part.body_start;
    if (media_type(first_field_value(fields, "content-type")) != "application/octet-stream") return;
    if (found) {
      error = "the share mail has more than one application/octet-stream part";
    } else if (ascii_lower(first_field_value(fields, "content-transfer-encoding")) != "base64") {
      error = "the share part is not base64-encoded";
    }
    found = SharePart{mail.substr(body, end - body), {}};
  };

  std::optional<std::size_t> part_start;  // where the current part begins
  bool closed = false;
  for (std::size_t pos = body_start; pos < mail.size() && !closed;) {
    const MailLine line = line_at(mail, pos);
    const std::string_view text = trim_blanks(line.text);
    closed = text == delimiter + "--";
    if (text == delimiter || closed) {
      if (part_start) look_at_part(*part_start, pos);
      part_start = line.next;
    }
    pos = line.next;
  }
  if (!closed && part_start) look_at_part(*part_start, mail.size());
  if (!error.empty()) return bad_part(error);
  if (!found) return bad_part("the share mail has no application/octet-stream part");
  return *found;
}

ParsedShareMail bad(std::string reason) {
  ParsedShareMail parsed;
  parsed.status = ParsedShareMail::Status::Bad;
  parsed.error = std::move(reason);
  return parsed;
}

}  // namespace

ParsedShareMail parse_share_mail(std::string_view mail) {
  const HeaderSection head = read_header_section(mail);
  const std::vector<HeaderField>& fields = head.fields;
  const std::size_t body_start = head.body_start;
  const std::vector<const HeaderField*> share_fields = find_fields(fields, ascii_lower(kShareHeaderName));
  if (share_fields.empty()) return ParsedShareMail{};
  if (share_fields.size() > 1) return bad("the mail has more than one X-Postern-Share header field");

  const ShareMetadataParse metadata = parse_share_metadata(share_fields.front()->value);
  if (!metadata.error.empty()) return bad("X-Postern-Share: " + metadata.error);

  const std::string content_type = first_field_value(fields, "content-type");
  const std::string type = media_type(content_type);
  SharePart part;
  if (type.starts_with("multipart/")) {
    const std::optional<std::string> boundary = content_type_parameter(content_type, "boundary");
    if (!boundary || boundary->empty()) return bad("the share mail's multipart Content-Type has no boundary");
    part = find_share_part(mail, body_start, *boundary);
  } else if (type == "application/octet-stream") {
    if (ascii_lower(first_field_value(fields, "content-transfer-encoding")) != "base64") {
      part = bad_part("the share part is not base64-encoded");
    } else {
      part.base64 = mail.substr(std::min(body_start, mail.size()));
    }
  } else {
    part = bad_part("the share mail's Content-Type is \"" + type + "\", not multipart or application/octet-stream");
  }
  if (!part.error.empty()) return bad(part.error);

  std::optional<std::string> bytes = decode_base64_lines(part.base64);
  if (!bytes) return bad("the share part is not valid base64");
  if (bytes->empty() || bytes->size() % kSecretBucket != 0) {
    return bad("the share has " + std::to_string(bytes->size()) +
               " bytes, not a positive multiple of 4096: it is truncated or damaged");
  }
  ParsedShareMail parsed;
  parsed.status = ParsedShareMail::Status::Share;
  parsed.share = metadata.metadata;
  parsed.bytes = std::move(*bytes);
  return parsed;
}

}  // namespace postern::shares
