#include "server/filters/address_list.hpp"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace postern::filters {
namespace {

// RFC 5322 §3.2.3 lexical tokens, CFWS already dropped.
enum class Kind { Atom, QuotedString, DomainLiteral, Special };

struct Token {
  Kind kind;
  std::string text;  // Atom as written; quoted string and domain literal with their delimiters
};

struct Lexed {
  std::vector<Token> tokens;
  std::vector<std::string> comments;  // their text, quoted-pairs undone
  std::string error;
};

constexpr std::string_view kSpecials = "()<>[]:;@\\,.\"";  // RFC 5322 §3.2.3 specials

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Controls other than HTAB: refused anywhere (§3.2.3 qtext, ctext and atext exclude them; the
// obsolete forms that admit them are not worth the ambiguity).
bool is_control(char c) {
  const auto b = static_cast<unsigned char>(c);
  return (b < 0x20 && c != '\t') || b == 0x7f;
}

// atext, with RFC 6532 §3.2 admitting UTF-8 octets.
bool is_atext(char c) {
  return !is_wsp(c) && !is_control(c) && kSpecials.find(c) == std::string_view::npos;
}

// The index just past a delimited run starting at v[i] (a comment, quoted string or domain
// literal), honouring quoted-pairs (§3.2.1) and, for comments, nesting (§3.2.2); npos if the
// run is not closed.
std::size_t skip_delimited(std::string_view v, std::size_t i, char open, char close) {
  int depth = 0;
  for (; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '\\') {
      ++i;
    } else if (depth > 0 && c == close) {
      if (--depth == 0) return i + 1;
    } else if (c == open) {
      if (depth > 0 && open == '[') return std::string_view::npos;  // §3.4.1: no "[" in dtext
      ++depth;
    }
  }
  return std::string_view::npos;
}

// The inside of a quoted string or comment as a reader shows it: each quoted-pair (§3.2.1)
// stands for its second character.
std::string unescape(std::string_view inside) {
  std::string out;
  for (std::size_t i = 0; i < inside.size(); ++i) {
    if (inside[i] == '\\' && i + 1 < inside.size()) ++i;
    out.push_back(inside[i]);
  }
  return out;
}

Lexed lex(std::string_view v) {
  Lexed out;
  if (std::any_of(v.begin(), v.end(), is_control)) return {{}, {}, "control character"};
  for (std::size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (is_wsp(c)) {
      ++i;
    } else if (c == '(') {  // a comment is CFWS (§3.2.2): no token, but readers show it
      const auto end = skip_delimited(v, i, '(', ')');
      if (end == std::string_view::npos) return {{}, {}, "unclosed comment"};
      out.comments.push_back(unescape(v.substr(i + 1, end - i - 2)));
      i = end;
    } else if (c == '"' || c == '[') {
      const auto end = skip_delimited(v, i, c, c == '"' ? '"' : ']');
      if (end == std::string_view::npos) {
        return {{}, {}, c == '"' ? "unclosed quoted string" : "malformed domain literal"};
      }
      out.tokens.push_back(
          {c == '"' ? Kind::QuotedString : Kind::DomainLiteral, std::string(v.substr(i, end - i))});
      i = end;
    } else if (c == ')' || c == ']' || c == '\\') {
      return {{}, {}, std::string("unexpected '") + c + "'"};
    } else if (!is_atext(c)) {
      out.tokens.push_back({Kind::Special, std::string(1, c)});
      ++i;
    } else {
      auto end = i;
      while (end < v.size() && is_atext(v[end])) ++end;
      out.tokens.push_back({Kind::Atom, std::string(v.substr(i, end - i))});
      i = end;
    }
  }
  return out;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, AddressList& out) : tokens_(tokens), out_(out) {}

  // §3.4 address-list, with §4.4 obs-addr-list's empty elements.
  bool address_list() {
    std::size_t addresses = 0;
    while (!at_end()) {
      if (at(',')) {
        ++pos_;
        continue;
      }
      if (!mailbox(true)) return false;
      ++addresses;
      if (!at_end() && !at(',')) return fail("expected a comma between addresses");
    }
    return addresses > 0 || fail("no address");
  }

 private:
  bool at_end() const { return pos_ >= tokens_.size(); }
  bool at(char special) const {
    return !at_end() && tokens_[pos_].kind == Kind::Special && tokens_[pos_].text[0] == special;
  }
  bool at(Kind kind) const { return !at_end() && tokens_[pos_].kind == kind; }
  bool at_word() const { return at(Kind::Atom) || at(Kind::QuotedString); }  // §3.2.5 word

  bool fail(std::string error) {
    out_.error = std::move(error);
    return false;
  }

  // §3.4 mailbox = name-addr / addr-spec, or (where allowed) group. A display name is words
  // and, as §4.1 obs-phrase allows, dots. What follows it tells them apart.
  bool mailbox(bool group_allowed) {
    const auto start = pos_;
    while (at_word() || at('.')) ++pos_;
    if (at('<')) {
      if (pos_ > start) out_.display_names.push_back(phrase(start, pos_));
      return angle_addr();
    }
    if (group_allowed && at(':') && pos_ > start) return group();
    pos_ = start;
    return addr_spec();
  }

  // The display name tokens_[begin, end) as a reader shows it: words joined by one space,
  // quoted strings unquoted, the dots of §4.1 obs-phrase kept.
  std::string phrase(std::size_t begin, std::size_t end) const {
    std::string text;
    for (std::size_t i = begin; i < end; ++i) {
      const Token& t = tokens_[i];
      if (!text.empty() && t.kind != Kind::Special) text.push_back(' ');
      const std::string_view word(t.text);
      text += t.kind == Kind::QuotedString ? unescape(word.substr(1, word.size() - 2)) : t.text;
    }
    return text;
  }

  // §3.4 group = display-name ":" [group-list] ";", with §4.4 empty elements. No nesting.
  bool group() {
    ++pos_;  // ":"
    out_.has_group = true;
    while (!at(';')) {
      if (at_end()) return fail("unclosed group");
      if (at(',')) {
        ++pos_;
        continue;
      }
      if (!mailbox(false)) return false;
      if (!at_end() && !at(',') && !at(';')) return fail("expected a comma between addresses");
    }
    ++pos_;  // ";"
    return true;
  }

  // §3.4 angle-addr = "<" addr-spec ">", with §4.4 obs-route ("<@a,@b:x@y>") skipped.
  bool angle_addr() {
    ++pos_;  // "<"
    if (at('@') || at(',')) {
      while (!at_end() && !at(':') && !at('>')) ++pos_;
      if (!at(':')) return fail("malformed source route");
      ++pos_;
    }
    if (!addr_spec()) return false;
    if (!at('>')) return fail("missing '>'");
    ++pos_;
    return true;
  }

  // §3.4.1 addr-spec = local-part "@" domain, with §4.4 obs-local-part and obs-domain: words
  // (or atoms) joined by dots, any CFWS between them already gone.
  bool addr_spec() {
    if (!at_word()) return fail("expected an address");
    std::string spec = tokens_[pos_++].text;
    while (at('.')) {
      ++pos_;
      if (!at_word()) return fail("malformed local part");
      spec += '.' + tokens_[pos_++].text;
    }
    if (!at('@')) return fail("missing @ in address");
    ++pos_;
    spec += '@';
    if (at(Kind::DomainLiteral)) {
      spec += tokens_[pos_++].text;
    } else {
      if (!at(Kind::Atom)) return fail("missing domain in address");
      spec += tokens_[pos_++].text;
      while (at('.')) {
        ++pos_;
        if (!at(Kind::Atom)) return fail("malformed domain");
        spec += '.' + tokens_[pos_++].text;
      }
    }
    out_.addr_specs.push_back(std::move(spec));
    return true;
  }

  const std::vector<Token>& tokens_;
  AddressList& out_;
  std::size_t pos_ = 0;
};

}  // namespace

AddressList parse_address_list(std::string_view value) {
  AddressList out;
  auto lexed = lex(value);
  if (!lexed.error.empty()) {
    out.error = std::move(lexed.error);
    return out;
  }
  if (!Parser(lexed.tokens, out).address_list()) {
    out.addr_specs.clear();
    out.display_names.clear();
    out.has_group = false;
    return out;
  }
  out.comments = std::move(lexed.comments);
  return out;
}

}  // namespace postern::filters
