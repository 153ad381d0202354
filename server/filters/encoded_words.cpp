#include "server/filters/encoded_words.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <optional>
#include <utility>

namespace postern::filters {
namespace {

constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 2047 §2 token: any ASCII graphic but the especials (and "*", which starts an RFC 2231
// language suffix, handled by the caller).
bool is_token_char(char c) {
  static constexpr std::string_view kEspecials = "()<>@,;:\"/[]?.=";
  return c > ' ' && c < 0x7f && kEspecials.find(c) == std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 2047 §4.1, leniently: characters outside the alphabet (padding included) are skipped.
std::string decode_b(std::string_view text) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : text) {
    const int v = base64_value(c);
    if (v < 0) continue;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

// RFC 2047 §4.2: "_" is a space, "=XX" an octet; a "=" without two hex digits stays itself.
std::string decode_q(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const int high = c == '=' && i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
    const int low = high >= 0 ? hex_value(text[i + 2]) : -1;
    if (c == '_') {
      out.push_back(' ');
    } else if (low >= 0) {
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct EncodedWord {
  std::size_t end = 0;  // just past its "?="
  std::string charset;  // lowercase, without an RFC 2231 language suffix
  std::string octets;   // decoded, still in that charset
};

// The encoded-word "=?charset?encoding?encoded-text?=" starting at text[i], if there is one.
std::optional<EncodedWord> encoded_word_at(std::string_view text, std::size_t i) {
  if (text.substr(i, 2) != "=?") return std::nullopt;
  std::size_t p = i + 2;
  const std::size_t charset_begin = p;
  while (p < text.size() && (is_token_char(text[p]) || text[p] == '*')) ++p;
  if (p == charset_begin || p + 2 >= text.size() || text[p] != '?' || text[p + 2] != '?') return std::nullopt;
  const char encoding = ascii_lower(text[p + 1]);
  if (encoding != 'b' && encoding != 'q') return std::nullopt;
  const std::size_t payload_begin = p + 3;
  const std::size_t payload_end = text.find('?', payload_begin);
  if (payload_end == std::string_view::npos || text.substr(payload_end, 2) != "?=") return std::nullopt;
  EncodedWord word;
  word.end = payload_end + 2;
  std::string_view charset = text.substr(charset_begin, p - charset_begin);
  charset = charset.substr(0, charset.find('*'));  // RFC 2231 §5: "UTF-8*en"
  std::transform(charset.begin(), charset.end(), std::back_inserter(word.charset), ascii_lower);
  const std::string_view payload = text.substr(payload_begin, payload_end - payload_begin);
  word.octets = encoding == 'b' ? decode_b(payload) : decode_q(payload);
  return word;
}

std::string latin1_to_utf8(std::string_view octets) {
  std::string out;
  for (const char c : octets) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xc0 | (b >> 6)));
      out.push_back(static_cast<char>(0x80 | (b & 0x3f)));
    }
  }
  return out;
}

// The charsets handed to iconv: the MIME name (lowercase) and glibc's name for it. A fixed
// list, so a sender cannot pick an obscure converter; families with numbered members are
// matched by prefix plus digits.
constexpr std::array<std::pair<std::string_view, const char*>, 27> kIconvCharsets = {{
    {"windows-1252", "WINDOWS-1252"}, {"cp1252", "WINDOWS-1252"}, {"iso-8859-15", "ISO-8859-15"},
    {"koi8-r", "KOI8-R"}, {"koi8-u", "KOI8-U"}, {"iso-2022-jp", "ISO-2022-JP"},
    {"iso-2022-jp-2", "ISO-2022-JP-2"}, {"iso-2022-kr", "ISO-2022-KR"}, {"shift_jis", "SHIFT_JIS"},
    {"shift-jis", "SHIFT_JIS"}, {"sjis", "SHIFT_JIS"}, {"cp932", "CP932"}, {"windows-31j", "CP932"},
    {"euc-jp", "EUC-JP"}, {"euc-kr", "EUC-KR"}, {"ks_c_5601-1987", "CP949"}, {"cp949", "CP949"},
    {"gb2312", "GB2312"}, {"gbk", "GBK"}, {"cp936", "GBK"}, {"gb18030", "GB18030"}, {"big5", "BIG5"},
    {"big5-hkscs", "BIG5-HKSCS"}, {"utf-16", "UTF-16"}, {"utf-16be", "UTF-16BE"},
    {"utf-16le", "UTF-16LE"}, {"utf-7", "UTF-7"},
}};

bool is_numbered(std::string_view charset, std::string_view prefix, std::size_t max_digits) {
  if (!charset.starts_with(prefix)) return false;
  const std::string_view digits = charset.substr(prefix.size());
  return !digits.empty() && digits.size() <= max_digits &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// glibc's name for a charset of the list, uppercased; empty when it is not on the list.
std::string iconv_name(std::string_view charset) {
  for (const auto& [mime, name] : kIconvCharsets) {
    if (charset == mime) return name;
  }
  if (is_numbered(charset, "iso-8859-", 2) || is_numbered(charset, "windows-125", 1) ||
      is_numbered(charset, "cp125", 1)) {
    std::string name(charset);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
    return name.starts_with("CP") ? "WINDOWS-" + name.substr(2) : name;
  }
  return {};
}

// Converts with iconv; an invalid or truncated sequence becomes U+FFFD and decoding goes on.
// Nothing when iconv does not know the charset.
std::optional<std::string> iconv_to_utf8(const std::string& name, std::string_view octets) {
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out(octets.size() * 3 + 16, '\0');
  std::size_t used = 0;
  char* in = const_cast<char*>(octets.data());  // iconv's signature; it does not write there
  std::size_t in_left = octets.size();
  while (in_left > 0) {
    if (out.size() - used < 16) out.resize(out.size() * 2);
    char* dst = out.data() + used;
    std::size_t dst_left = out.size() - used;
    const std::size_t rc = iconv(cd, &in, &in_left, &dst, &dst_left);
    const int error = errno;
    used = out.size() - dst_left;
    if (rc != static_cast<std::size_t>(-1)) break;
    if (error == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    out.replace(used, kReplacement.size(), kReplacement);  // EILSEQ or EINVAL
    used += kReplacement.size();
    if (error == EINVAL) break;  // a truncated sequence at the end
    ++in;
    --in_left;
  }
  iconv_close(cd);
  out.resize(used);
  return out;
}

std::string to_utf8(const std::string& charset, std::string_view octets) {
  if (charset == "utf-8" || charset == "utf8" || charset == "us-ascii" || charset == "ascii") {
    return std::string(octets);
  }
  if (charset == "iso-8859-1" || charset == "iso8859-1" || charset == "latin1" || charset == "l1") {
    return latin1_to_utf8(octets);
  }
  if (const std::string name = iconv_name(charset); !name.empty()) {
    if (auto converted = iconv_to_utf8(name, octets)) return std::move(*converted);
  }
  return std::string(octets);  // unknown: read as ASCII-compatible
}

bool is_whitespace_only(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

}  // namespace

std::string decode_encoded_words(std::string_view text) {
  std::string out;
  std::string run_charset;  // adjacent encoded-words of one charset are converted together,
  std::string run_octets;   // so a character split between two of them comes out whole
  const auto flush = [&] {
    if (!run_octets.empty()) out += to_utf8(run_charset, run_octets);
    run_octets.clear();
  };
  std::size_t plain_begin = 0;  // text since the last encoded-word
  for (std::size_t i = 0; i < text.size();) {
    auto word = text[i] == '=' ? encoded_word_at(text, i) : std::nullopt;
    if (!word) {
      ++i;
      continue;
    }
    const std::string_view between = text.substr(plain_begin, i - plain_begin);
    const bool adjacent = !run_charset.empty() && is_whitespace_only(between);
    if (!adjacent || word->charset != run_charset) {
      flush();
      if (!adjacent) out += between;
    }
    run_charset = word->charset;
    run_octets += word->octets;
    i = plain_begin = word->end;
  }
  flush();
  out += text.substr(plain_begin);
  return out;
}

}  // namespace postern::filters
