// The DKIM-Signature field (RFC 6376 §3.5, relaxed/relaxed): which header fields it covers, the
// data it signs, and the field itself, prepended to the header section as delivered.
//
//   Signer signer{"example.com", "mail", key};
//   std::string field = signature_field(header_section, body_hash, signer, headers, time(nullptr));
//   send(field + header_section + ...);
#pragma once

#include "dkim/crypto.hpp"

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace postern::dkim {

// The header fields listed by default (the `dkim.headers` configuration).
std::vector<std::string> default_signed_headers();

// The fields of a header section, each whole (with its folding and CRLF), top to bottom. The
// section may end with its empty line or not.
std::vector<std::string_view> header_fields(std::string_view header_section);

// The h= list: for each configured name, as many times as the section has fields of that name
// (a signer takes them bottom up, RFC 6376 §5.4.2), and From once more (oversigned: a From added
// later breaks the signature). Names keep the configured spelling.
std::vector<std::string> names_to_sign(const std::vector<std::string_view>& fields,
                                       const std::vector<std::string>& configured);

// What the signature covers: the relaxed form of each named field, chosen bottom up (a name
// listed more times than present adds nothing), then the relaxed DKIM-Signature field with an
// empty b= and no CRLF.
std::string signed_data(const std::vector<std::string_view>& fields, const std::vector<std::string>& names,
                        std::string_view unsigned_signature_field);

struct Signer {
  std::string domain;    // d=
  std::string selector;  // s=
  SigningKey key;
};

// The DKIM-Signature field, with its CRLF, for a message with this header section and body
// hash, signed at `now`.
std::string signature_field(std::string_view header_section, std::string_view body_hash, const Signer& signer,
                            const std::vector<std::string>& configured_headers, std::time_t now);

// The domain of the header From's (first) address, lowercased; empty when there is none.
std::string header_from_domain(std::string_view header_section);

// The record to publish: `selector._domainkey.domain. IN TXT "v=DKIM1; k=rsa; p=..."`, its text
// cut into quoted strings of at most 255 characters (RFC 1035 §3.3.14: longer RSA keys need it).
std::string dns_txt_record(std::string_view domain, std::string_view selector, Algorithm algorithm,
                           std::string_view public_key);

}  // namespace postern::dkim
