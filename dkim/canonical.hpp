// Relaxed canonicalization (RFC 6376 §3.4.2 and §3.4.4) and the body hash.
//
//   BodyHasher hasher;              // fed the body as it streams in, in pieces of any size
//   hasher.update(piece);
//   std::string bh = hasher.finish();   // base64 of SHA-256 over the canonical body
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace postern::dkim {

// One header field, relaxed: the name lowercased, the value unfolded, runs of WSP made one SP,
// WSP at the value's ends and around the colon dropped, then CRLF. `field` is the whole field
// as it appears ("Name: value\r\n", folded or not, with or without its CRLF).
std::string relaxed_header(std::string_view field);

// Relaxed body canonicalization and SHA-256, over the body given in pieces: a CRLF, a run of
// whitespace or a trailing run of empty lines may straddle two pieces.
class BodyHasher {
 public:
  BodyHasher();
  ~BodyHasher();
  BodyHasher(const BodyHasher&) = delete;
  BodyHasher& operator=(const BodyHasher&) = delete;

  void update(std::string_view piece);
  // The base64 body hash (bh=); call once.
  std::string finish();

 private:
  void content(char c);
  void flush();

  struct Digest;
  std::unique_ptr<Digest> digest_;
  std::string out_;            // canonical bytes not yet hashed
  std::uint64_t empty_lines_ = 0;  // empty lines seen but not written: they may end the body
  bool whitespace_ = false;    // WSP seen in the line since its last content
  bool carriage_return_ = false;  // a CR seen, its LF maybe in the next piece
  bool line_has_content_ = false;
};

// The relaxed body canonicalization of a whole body (for tests and small bodies).
std::string relaxed_body(std::string_view body);

// The body hash of a whole message held in memory (a DSN): of what follows its header section's
// empty line (of nothing when it has none).
std::string message_body_hash(std::string_view message);

}  // namespace postern::dkim
