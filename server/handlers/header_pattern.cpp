// See header_pattern.hpp.
#include "server/handlers/header_pattern.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

namespace postern::handlers {
namespace {

// Enough for any sensible pattern on a header value, far too little for exponential
// backtracking (PCRE2's default is ten million).
constexpr std::uint32_t kMatchLimit = 100000;
constexpr std::uint32_t kDepthLimit = 1000;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

struct HeaderPattern::Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  ~Compiled() {
    pcre2_match_context_free(context);
    pcre2_code_free(code);
  }
};

HeaderPattern::HeaderPattern(const std::string& pattern) : text_(pattern) {
  auto compiled = std::make_shared<Compiled>();
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0, &error, &offset,
                                 nullptr);
  if (compiled->code == nullptr) {
    throw std::invalid_argument(pcre2_message(error) + " at offset " + std::to_string(offset));
  }
  compiled->context = pcre2_match_context_create(nullptr);
  if (compiled->context == nullptr) throw std::bad_alloc();
  pcre2_set_match_limit(compiled->context, kMatchLimit);
  pcre2_set_depth_limit(compiled->context, kDepthLimit);
  compiled_ = std::move(compiled);
}

bool HeaderPattern::search(std::string_view text) const {
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  if (data == nullptr) throw std::bad_alloc();
  const int result = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, data,
                                 compiled_->context);
  pcre2_match_data_free(data);
  return result >= 0;  // no match, and a match that hit its limits, both count as "no"
}

}  // namespace postern::handlers
