// The per-upstream header rewrites (smtpproxy's per-account `returnpath=` and `replyto=`): the
// delivery engine rewrites the queued message's header section just before handing the message
// to the upstream, so that the queue keeps the message as it was submitted. Delivery streams the
// body past (queued_body.hpp) and calls rewrite_header_section() on the header section alone;
// apply_rewrites() does the same to a whole message held in memory.
//
// With upstream.rewrite_return_path set, every Return-Path field is removed and
// "Return-Path: <addr>" is prepended. (RFC 5321 §4.4: Return-Path is the final delivery's record
// of the envelope sender; an SMTP upstream normally replaces it, so the field mostly matters for
// maildir upstreams. Redirecting bounces at an SMTP upstream takes the envelope sender, which
// is the engine's business, not this header.) With upstream.rewrite_reply_to set, the Reply-To
// fields are replaced by one "Reply-To: addr" where the first of them was, or at the end of the
// header section when there was none. Every other field, the order of fields and the body are
// kept byte for byte. Pure; the message is CRLF text as queued.
#pragma once

#include <string>
#include <string_view>

#include "server/delivery/upstream.hpp"

namespace postern::delivery {

// Whether the upstream rewrites anything at all.
bool rewrites_headers(const Upstream& upstream);

// The header section rewritten. `header_section` runs from the message's start to the empty line
// that ends it (filters::HeaderBlock::header_end: without that line), or is the whole message
// when it has no empty line.
std::string rewrite_header_section(std::string_view header_section, const Upstream& upstream);

// The whole message with its header section rewritten.
std::string apply_rewrites(std::string_view message, const Upstream& upstream);

}  // namespace postern::delivery
