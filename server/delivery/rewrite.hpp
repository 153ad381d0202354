// The per-upstream header rewrites (smtpproxy's per-account `returnpath=` and `replyto=`): the
// delivery engine calls apply_rewrites() on the queued message just before handing it to the
// upstream, so that the queue keeps the message as it was submitted.
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

std::string apply_rewrites(std::string_view message, const Upstream& upstream);

}  // namespace postern::delivery
