#include "shares/privmail_share_mail_parser.hpp"

#include "shares/base64_lines.hpp"
#include "shares/encoded_words.hpp"
#include "shares/mail_header_section.hpp"
#include "shares/privmail_blocks.hpp"
#include "shares/quoted_printable.hpp"

#include <algorithm>
#include <charconv>

namespace postern::shares {
namespace {

constexpr std::string_view kBucketBeginPrefix = "-----BEGIN SECRET SHARE BUCKET SIZE ";
constexpr std::string_view kBucketSuffix = " BLOCK Ver1.0-----";
constexpr std::size_t kMaxBucketSize = 999;

ParsedPrivmailShareMail bad(std::string reason) {
  ParsedPrivmailShareMail parsed;
  parsed.status = ParsedPrivmailShareMail::Status::Bad;
  parsed.error = std::move(reason);
  return parsed;
}

std::string_view trim_line(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

// The size in a bucket block's BEGIN or END line, or nullopt when the line is none.
std::optional<std::size_t> bucket_size(std::string_view line, std::string_view prefix) {
  if (!line.starts_with(prefix) || !line.ends_with(kBucketSuffix)) return std::nullopt;
  const std::string_view digits = line.substr(prefix.size(), line.size() - prefix.size() - kBucketSuffix.size());
  std::size_t size = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || size == 0 || size > kMaxBucketSize) {
    return std::nullopt;
  }
  return size;
}

bool is_delimiter(std::string_view line) { return line.starts_with("-----BEGIN ") || line.starts_with("-----END "); }

bool values_fit(std::string_view values, unsigned bits) {
  return std::all_of(values.begin(), values.end(), [&](char c) { return (static_cast<unsigned char>(c) >> bits) == 0; });
}

// The text of a single-part text/plain body, transfer encoding undone; nullopt for other mail.
std::optional<std::string> body_text(std::string_view mail, const HeaderSection& head) {
  const std::string type = media_type(first_field_value(head.fields, "content-type"));
  if (!type.empty() && type != "text/plain") return std::nullopt;
  const std::string_view body = mail.substr(std::min(head.body_start, mail.size()));
  const std::string encoding = ascii_lower(first_field_value(head.fields, "content-transfer-encoding"));
  if (encoding == "quoted-printable") return decode_quoted_printable(body);
  if (encoding == "base64") return decode_base64_lines(body);
  return std::string(body);
}

struct Blocks {
  std::string body;  // base64, lines joined
  std::string truncated;
  bool has_truncated = false;
  std::vector<std::pair<std::size_t, std::vector<std::string>>> buckets;  // base64 lines
  std::string error;
};

Blocks read_blocks(std::string_view text) {
  Blocks blocks;
  enum class In { Nothing, Body, Truncated, Bucket } in = In::Nothing;
  bool has_body = false;
  std::string_view end_line;
  std::string bucket_end;
  const auto fail = [&](std::string reason) {
    blocks.error = std::move(reason);
    return blocks;
  };
  for (std::size_t pos = 0; pos < text.size();) {
    const MailLine mail_line = line_at(text, pos);
    pos = mail_line.next;
    const std::string_view line = trim_line(mail_line.text);
    if (in != In::Nothing) {
      const std::string_view end = in == In::Bucket ? std::string_view(bucket_end) : end_line;
      if (line == end) {
        in = In::Nothing;
      } else if (is_delimiter(line)) {
        return fail("a block is not closed before the next one starts");
      } else if (in == In::Body) {
        blocks.body += trim_blanks(line);
      } else if (in == In::Truncated) {
        blocks.truncated += trim_blanks(line);
      } else if (!trim_blanks(line).empty()) {
        blocks.buckets.back().second.emplace_back(trim_blanks(line));
      }
      continue;
    }
    if (line == kPrivmailBodyBegin) {
      if (has_body) return fail("the mail has two SECRET SHARE BLOCKs");
      has_body = true;
      in = In::Body;
      end_line = kPrivmailBodyEnd;
    } else if (line == kPrivmailTruncatedBegin) {
      if (blocks.has_truncated) return fail("the mail has two SECRET SHARE TRUNCATED BLOCKs");
      blocks.has_truncated = true;
      in = In::Truncated;
      end_line = kPrivmailTruncatedEnd;
    } else if (const std::optional<std::size_t> size = bucket_size(line, kBucketBeginPrefix)) {
      if (std::any_of(blocks.buckets.begin(), blocks.buckets.end(), [&](const auto& b) { return b.first == *size; })) {
        return fail("the mail has two BUCKET SIZE " + std::to_string(*size) + " blocks");
      }
      blocks.buckets.push_back({*size, {}});
      in = In::Bucket;
      bucket_end = bucket_block_end(*size);
    } else if (is_delimiter(line) && line.find("SECRET SHARE") != std::string_view::npos) {
      return fail("a SECRET SHARE line is no block's start nor in its place");
    }
  }
  if (in != In::Nothing) return fail("a block has no END line: the mail is truncated");
  if (!blocks.has_truncated) return fail("the mail has no SECRET SHARE TRUNCATED BLOCK");
  return blocks;
}

}  // namespace

ParsedPrivmailShareMail parse_privmail_share_mail(std::string_view mail) {
  const HeaderSection head = read_header_section(mail);
  const std::optional<std::string> text = body_text(mail, head);
  if (!text) return {};
  const bool has_body_block = [&] {
    for (std::size_t pos = 0; pos < text->size();) {
      const MailLine line = line_at(*text, pos);
      if (trim_line(line.text) == kPrivmailBodyBegin) return true;
      pos = line.next;
    }
    return false;
  }();
  if (!has_body_block) return {};

  Blocks blocks = read_blocks(*text);
  if (!blocks.error.empty()) return bad(blocks.error);
  ParsedPrivmailShareMail parsed;
  PrivmailShare& share = parsed.share;

  const std::vector<const HeaderField*> subjects = find_fields(head.fields, "subject");
  if (subjects.empty()) return bad("the mail has no Subject, whose UID links the shares");
  DecodedWords subject = decode_encoded_words(subjects.front()->value);
  if (!subject.error.empty()) return bad("the Subject is malformed: " + subject.error);
  const std::string_view subject_text = trim_blanks(subject.bytes);
  if (subject_text.size() < kPrivmailUidLength) return bad("the Subject is shorter than a UID (8 characters)");
  share.uid = std::string(subject_text.substr(0, kPrivmailUidLength));
  const std::optional<std::string> uid_bytes = decode_base64_lines(share.uid);
  if (!uid_bytes || uid_bytes->size() != kPrivmailUidBytes || share.uid.find_first_of(" \t") != std::string::npos) {
    return bad("the Subject does not start with a UID (8 base64 characters)");
  }

  const auto decode = [&](std::string_view base64, unsigned bits, std::string_view what, std::string& out) -> std::string {
    std::optional<std::string> values = decode_base64_lines(base64);
    if (!values) return std::string(what) + " is not valid base64";
    if (!values_fit(*values, bits)) {
      return std::string(what) + " holds values over " + std::to_string(bits) + " bits: it is damaged";
    }
    out = std::move(*values);
    return {};
  };
  for (std::string problem : {decode(subject_text.substr(kPrivmailUidLength), 7, "the Subject's share", share.subject),
                              decode(blocks.body, 7, "the SECRET SHARE BLOCK", share.body),
                              decode(blocks.truncated, 6, "the SECRET SHARE TRUNCATED BLOCK", share.truncated)}) {
    if (!problem.empty()) return bad(problem);
  }
  for (const auto& [size, lines] : blocks.buckets) {
    PrivmailBucket bucket{size, {}};
    const std::string what = "the BUCKET SIZE " + std::to_string(size) + " block";
    for (const std::string& line : lines) {
      std::string values;
      if (std::string problem = decode(line, 6, what, values); !problem.empty()) return bad(problem);
      if (values.size() != size) {
        return bad(what + " has an entry of " + std::to_string(values.size()) + " values: it is damaged");
      }
      bucket.entries.push_back(std::move(values));
    }
    share.buckets.push_back(std::move(bucket));
  }

  for (const auto& [name, out] : {std::pair{"from", &share.from}, std::pair{"to", &share.to}, std::pair{"cc", &share.cc}}) {
    if (!find_fields(head.fields, name).empty()) *out = first_field_value(head.fields, name);
  }
  parsed.status = ParsedPrivmailShareMail::Status::Share;
  return parsed;
}

}  // namespace postern::shares
