#include "shares/privmail_share_mail.hpp"

#include "shares/base64_lines.hpp"
#include "shares/keystream.hpp"
#include "shares/privmail_blocks.hpp"
#include "shares/privmail_sixbit.hpp"
#include "shares/privmail_text.hpp"
#include "shares/privmail_xor_sharing.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>
#include <vector>

namespace postern::shares {
namespace {

constexpr unsigned kTextBits = 7;
constexpr unsigned kSixBits = 6;
constexpr std::size_t kFoldLength = 78;  // the line length up to which Python leaves a field unfolded

// Draws uniform random numbers below a bound from a keystream, in order.
class KeystreamDraws {
 public:
  explicit KeystreamDraws(const Seed& seed) : stream_(seed) {}

  // Uniform in [0, bound), bound > 0: 32-bit draws, rejected above the largest multiple of bound.
  std::uint32_t below(std::uint32_t bound) {
    const std::uint64_t range = std::uint64_t{1} << 32;
    const std::uint64_t limit = range - range % bound;
    for (;;) {
      const std::uint64_t value = next32();
      if (value < limit) return static_cast<std::uint32_t>(value % bound);
    }
  }

 private:
  std::uint32_t next32() {
    if (used_ + 4 > buffer_.size()) {
      stream_.read(offset_, buffer_);
      offset_ += buffer_.size();
      used_ = 0;
    }
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value = value << 8 | buffer_[used_++];
    return value;
  }

  Keystream stream_;
  std::array<std::uint8_t, 4096> buffer_{};
  std::size_t used_ = 4096;
  std::uint64_t offset_ = 0;
};

std::string sixbit_values(std::string_view text) {
  std::string out(text.size(), '\0');
  std::transform(text.begin(), text.end(), out.begin(), [](char c) { return static_cast<char>(sixbit_encode(c)); });
  return out;
}

// A block: its delimiters around base64 text cut into lines of 60.
std::string wrapped_block(std::string_view begin, std::string_view base64, std::string_view end) {
  std::string out(begin);
  for (std::size_t pos = 0; pos < base64.size(); pos += kPrivmailLineLength) {
    out += "\r\n";
    out.append(base64.substr(pos, kPrivmailLineLength));
  }
  out += "\r\n";
  out.append(end);
  return out;
}

// "Name: value", unfolded when that fits in 78 characters (as Python writes it), else as folded.
std::string copied_field(std::string_view name, const std::string& value) {
  if (value.empty()) return std::string(name) + ":\r\n";
  std::string unfolded;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    unfolded += value[i];
  }
  const std::string& shown = name.size() + 2 + unfolded.size() <= kFoldLength ? unfolded : value;
  return std::string(name) + ": " + shown + "\r\n";
}

void require_carriable(const PrivmailContent& content) {
  const auto ascii = [](std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  };
  if (!ascii(content.subject) || !ascii(content.text)) {
    throw std::invalid_argument("privmail share mail: the Subject and text must be 7-bit ASCII");
  }
  if (content.subject.size() > kPrivmailMaxSubjectLength ||
      content.subject.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    throw std::invalid_argument("privmail share mail: the Subject is too long or holds a line break or NUL");
  }
  for (const std::optional<std::string>* field : {&content.from, &content.to, &content.cc}) {
    if (*field && (!ascii(**field) || field->value().find('\0') != std::string::npos)) {
      throw std::invalid_argument("privmail share mail: From, To and Cc must be 7-bit ASCII");
    }
  }
}

}  // namespace

std::string privmail_uid(const Seed& group_seed) {
  std::array<std::uint8_t, kPrivmailUidBytes> bytes{};
  Keystream(derive_seed(group_seed, "privmail uid")).read(0, bytes);
  return encode_base64(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string write_privmail_share_mail(const PrivmailContent& content, unsigned index, unsigned count,
                                      const Seed& group_seed) {
  require_carriable(content);
  const auto share = [&](std::string_view values, unsigned bits, const Keystream& keystream, std::uint64_t first_draw = 0) {
    return encode_base64(privmail_xor_share(values, bits, index, count, keystream, first_draw));
  };
  const auto stream = [&](std::string_view label) { return Keystream(derive_seed(group_seed, label)); };
  const std::string subject = share(content.subject, kTextBits, stream("privmail subject"));
  const std::string body = share(content.text, kTextBits, stream("privmail body"));
  const std::string truncated = share(sixbit_values(collapse_whitespace(content.text)), kSixBits, stream("privmail truncated"));

  // The distinct words in a random order; each word's draws have a slot of 20 values of their own.
  std::vector<std::string> words = privmail_search_words(content.text);
  KeystreamDraws order(derive_seed(group_seed, "privmail word order"));
  for (std::size_t i = words.size(); i > 1; --i) std::swap(words[i - 1], words[order.below(static_cast<std::uint32_t>(i))]);
  std::vector<std::pair<std::size_t, std::string>> buckets;  // size, its lines; in the order sizes are first met
  const Keystream words_stream = stream("privmail words");
  const std::uint64_t slot = kBucketSizes.back() * (count - 1);
  for (std::size_t j = 0; j < words.size(); ++j) {
    const std::optional<std::string> padded = bucket_word(words[j]);
    if (!padded) continue;
    auto bucket = std::find_if(buckets.begin(), buckets.end(), [&](const auto& b) { return b.first == padded->size(); });
    if (bucket == buckets.end()) bucket = buckets.insert(buckets.end(), {padded->size(), {}});
    bucket->second += "\r\n" + share(sixbit_values(*padded), kSixBits, words_stream, j * slot);
  }

  std::string mail;
  if (content.from) mail += copied_field("From", *content.from);
  if (content.to) mail += copied_field("To", *content.to);
  if (content.cc && !content.cc->empty()) mail += copied_field("Cc", *content.cc);
  mail += "Subject: " + privmail_uid(group_seed) + subject + "\r\n";
  mail += "Content-Type: text/plain; charset=\"utf-8\"\r\n"
          "Content-Transfer-Encoding: 7bit\r\n"
          "MIME-Version: 1.0\r\n"
          "\r\n";
  mail += wrapped_block(kPrivmailBodyBegin, body, kPrivmailBodyEnd);
  mail += "\r\n\r\n" + wrapped_block(kPrivmailTruncatedBegin, truncated, kPrivmailTruncatedEnd);
  for (const auto& [size, lines] : buckets) {
    mail += "\r\n\r\n" + bucket_block_begin(size) + lines + "\r\n" + bucket_block_end(size);
  }
  mail += "\r\n";
  return mail;
}

}  // namespace postern::shares
