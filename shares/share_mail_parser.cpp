#include "shares/share_mail_parser.hpp"

#include "shares/base64_lines.hpp"
#include "shares/secret_framing.hpp"

#include <optional>
#include <vector>

namespace postern::shares {
namespace {

struct Field {
  std::string name;   // lower case
  std::string value;  // unfolded, trimmed
};

// One line of the mail, without its LF or CRLF, and where the next begins.
struct Line {
  std::string_view text;
  std::size_t next = 0;
};

Line line_at(std::string_view mail, std::size_t pos) {
  const std::size_t lf = mail.find('\n', pos);
  const std::size_t end = lf == std::string_view::npos ? mail.size() : lf;
  std::string_view text = mail.substr(pos, end - pos);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return Line{text, lf == std::string_view::npos ? mail.size() : lf + 1};
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// A header section from `pos` up to its empty line; `pos` ends past that line. Lines that are
// not a field (an mbox "From " line, say) are skipped.
std::vector<Field> read_fields(std::string_view mail, std::size_t& pos) {
  std::vector<Field> fields;
  bool in_field = false;
  while (pos < mail.size()) {
    const Line line = line_at(mail, pos);
    pos = line.next;
    if (line.text.empty()) break;
    if (line.text.front() == ' ' || line.text.front() == '\t') {
      if (in_field) fields.back().value += line.text;  // unfolding drops only the line break
      continue;
    }
    // A field name has no space in it; this keeps out an mbox "From " line ("... 10:00:00 2024").
    const std::size_t colon = line.text.find(':');
    const std::string_view name = colon == std::string_view::npos ? std::string_view() : trim(line.text.substr(0, colon));
    in_field = !name.empty() && name.find_first_of(" \t") == std::string_view::npos;
    if (in_field) fields.push_back({lower(name), std::string(line.text.substr(colon + 1))});
  }
  for (Field& field : fields) field.value = std::string(trim(field.value));
  return fields;
}

std::vector<const Field*> find_all(const std::vector<Field>& fields, std::string_view name) {
  std::vector<const Field*> found;
  for (const Field& field : fields) {
    if (field.name == name) found.push_back(&field);
  }
  return found;
}

std::string field_value(const std::vector<Field>& fields, std::string_view name) {
  const std::vector<const Field*> found = find_all(fields, name);
  return found.empty() ? std::string() : found.front()->value;
}

// "type/subtype" of a Content-Type value, lower case.
std::string media_type(std::string_view content_type) {
  return lower(trim(content_type.substr(0, content_type.find(';'))));
}

// A Content-Type parameter (token or quoted string), or nullopt.
std::optional<std::string> parameter(std::string_view content_type, std::string_view name) {
  const auto skip_space = [&](std::size_t pos) {
    while (pos < content_type.size() && (content_type[pos] == ' ' || content_type[pos] == '\t')) ++pos;
    return pos;
  };
  std::size_t pos = content_type.find(';');
  while (pos != std::string_view::npos) {
    const std::size_t equals = content_type.find('=', pos + 1);
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string key = lower(trim(content_type.substr(pos + 1, equals - pos - 1)));
    pos = skip_space(equals + 1);
    std::string value;
    if (pos < content_type.size() && content_type[pos] == '"') {
      for (++pos; pos < content_type.size() && content_type[pos] != '"'; ++pos) {
        if (content_type[pos] == '\\' && pos + 1 < content_type.size()) ++pos;  // quoted-pair
        value += content_type[pos];
      }
      pos = content_type.find(';', pos);
    } else {
      const std::size_t end = content_type.find(';', pos);
      value = std::string(trim(content_type.substr(pos, end == std::string_view::npos ? end : end - pos)));
      pos = end;
    }
    if (key == name) return value;
  }
  return std::nullopt;
}

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
    std::size_t body = start;
    const std::vector<Field> fields = read_fields(part_and_before, body);
    if (media_type(field_value(fields, "content-type")) != "application/octet-stream") return;
    if (found) {
      error = "the share mail has more than one application/octet-stream part";
    } else if (lower(field_value(fields, "content-transfer-encoding")) != "base64") {
      error = "the share part is not base64-encoded";
    }
    found = SharePart{mail.substr(body, end - body), {}};
  };

  std::optional<std::size_t> part_start;  // where the current part begins
  bool closed = false;
  for (std::size_t pos = body_start; pos < mail.size() && !closed;) {
    const Line line = line_at(mail, pos);
    const std::string_view text = trim(line.text);
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
  std::size_t body_start = 0;
  const std::vector<Field> fields = read_fields(mail, body_start);
  const std::vector<const Field*> share_fields = find_all(fields, lower(kShareHeaderName));
  if (share_fields.empty()) return ParsedShareMail{};
  if (share_fields.size() > 1) return bad("the mail has more than one X-Postern-Share header field");

  const ShareMetadataParse metadata = parse_share_metadata(share_fields.front()->value);
  if (!metadata.error.empty()) return bad("X-Postern-Share: " + metadata.error);

  const std::string content_type = field_value(fields, "content-type");
  const std::string type = media_type(content_type);
  SharePart part;
  if (type.starts_with("multipart/")) {
    const std::optional<std::string> boundary = parameter(content_type, "boundary");
    if (!boundary || boundary->empty()) return bad("the share mail's multipart Content-Type has no boundary");
    part = find_share_part(mail, body_start, *boundary);
  } else if (type == "application/octet-stream") {
    if (lower(field_value(fields, "content-transfer-encoding")) != "base64") {
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
