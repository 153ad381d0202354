// What a `postern` share mail says about its share, in one header field:
//
//   X-Postern-Share: v=1; scheme=shamir; id=3f2a0c...(32 hex); index=2; k=2; n=3
//
// v is the format version (this code writes and reads 1), id the share group, index the share's
// x-coordinate (1..n), k the threshold (= n for scheme=xor). Parameters are separated by ";",
// names are case-insensitive, whitespace (and folding) around them is ignored, and unknown
// parameters are skipped so a later version may add some.
//
//   std::string value = format_share_metadata(metadata);
//   ShareMetadataParse parsed = parse_share_metadata(value);   // parsed.error explains a refusal
#pragma once

#include "shares/share_group_id.hpp"
#include "shares/sharing_params.hpp"

#include <string>
#include <string_view>

namespace postern::shares {

inline constexpr std::string_view kShareHeaderName = "X-Postern-Share";

struct ShareMetadata {
  ShareGroupId id;
  unsigned index = 1;
  SharingParams params;

  bool operator==(const ShareMetadata&) const = default;
};

// The header field's value, e.g. "v=1; scheme=xor; id=...; index=1; k=3; n=3".
std::string format_share_metadata(const ShareMetadata& metadata);

struct ShareMetadataParse {
  ShareMetadata metadata;
  std::string error;  // empty on success
};

ShareMetadataParse parse_share_metadata(std::string_view value);

}  // namespace postern::shares
