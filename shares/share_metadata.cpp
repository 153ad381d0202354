#include "shares/share_metadata.hpp"

#include <charconv>
#include <map>
#include <optional>

namespace postern::shares {
namespace {

constexpr std::string_view kVersion = "1";

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A small decimal (digits only, no sign), or nullopt.
std::optional<unsigned> parse_count(std::string_view text) {
  unsigned value = 0;
  if (text.empty() || text.size() > 3) return std::nullopt;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string format_share_metadata(const ShareMetadata& metadata) {
  return "v=" + std::string(kVersion) + "; scheme=" + std::string(scheme_name(metadata.params.scheme)) +
         "; id=" + metadata.id.hex() + "; index=" + std::to_string(metadata.index) +
         "; k=" + std::to_string(metadata.params.threshold) + "; n=" + std::to_string(metadata.params.count);
}

ShareMetadataParse parse_share_metadata(std::string_view value) {
  const auto refuse = [](std::string reason) { return ShareMetadataParse{{}, std::move(reason)}; };
  std::map<std::string, std::string_view> parameters;
  while (!value.empty()) {
    const std::size_t end = value.find(';');
    const std::string_view item = trim(value.substr(0, end));
    value = end == std::string_view::npos ? std::string_view() : value.substr(end + 1);
    if (item.empty()) continue;
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) return refuse("parameter \"" + std::string(item) + "\" has no value");
    const std::string name = lower(trim(item.substr(0, equals)));
    if (!parameters.emplace(name, trim(item.substr(equals + 1))).second) {
      return refuse("parameter " + name + " is given twice");
    }
  }
  // The version first: another version may name its parameters differently.
  if (!parameters.contains("v")) return refuse("parameter v is missing");
  if (parameters["v"] != kVersion) {
    return refuse("share format version " + std::string(parameters["v"]) + " is not supported (this reads 1)");
  }
  for (const char* required : {"scheme", "id", "index", "k", "n"}) {
    if (!parameters.contains(required)) return refuse(std::string("parameter ") + required + " is missing");
  }

  ShareMetadata metadata;
  const std::optional<Scheme> scheme = parse_scheme(lower(parameters["scheme"]));
  if (!scheme) return refuse("unknown scheme \"" + std::string(parameters["scheme"]) + "\"");
  const std::optional<ShareGroupId> id = parse_share_group_id(parameters["id"]);
  if (!id) return refuse("id \"" + std::string(parameters["id"]) + "\" is not 32 hex digits");
  const std::optional<unsigned> index = parse_count(parameters["index"]);
  const std::optional<unsigned> k = parse_count(parameters["k"]);
  const std::optional<unsigned> n = parse_count(parameters["n"]);
  if (!index || !k || !n) return refuse("index, k and n must be small decimal numbers");

  metadata.id = *id;
  metadata.index = *index;
  metadata.params = SharingParams{*scheme, *k, *n};
  if (const std::string problem = params_problem(metadata.params); !problem.empty()) return refuse(problem);
  if (*index < 1 || *index > *n) {
    return refuse("index " + std::to_string(*index) + " is outside 1.." + std::to_string(*n));
  }
  return ShareMetadataParse{metadata, {}};
}

}  // namespace postern::shares
