#include "combine/imap_mailbox_reader.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>
#include <vector>

namespace postern::combine {
namespace {

constexpr long kConnectTimeoutSeconds = 30;
// A transfer that moves less than a byte a second for this long is given up.
constexpr long kStallSeconds = 120;

void ensure_curl_ready() {
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (initialised != CURLE_OK) throw InputError(std::string("libcurl failed to initialise: ") + curl_easy_strerror(initialised));
}

std::size_t append_to_string(char* data, std::size_t size, std::size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

// The UIDs of "* SEARCH 1 2 3" lines.
std::vector<std::string> search_uids(std::string_view response) {
  std::vector<std::string> uids;
  std::size_t pos = 0;
  while (pos < response.size()) {
    const std::size_t end = std::min(response.find('\n', pos), response.size());
    std::string_view line = response.substr(pos, end - pos);
    pos = end + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (!line.starts_with("* SEARCH")) continue;
    line.remove_prefix(8);
    while (!line.empty()) {
      const std::size_t start = line.find_first_not_of(' ');
      if (start == std::string_view::npos) break;
      line.remove_prefix(start);
      const std::string_view token = line.substr(0, line.find(' '));
      line.remove_prefix(token.size());
      unsigned long uid = 0;
      const auto [end_of_number, error] = std::from_chars(token.data(), token.data() + token.size(), uid);
      if (error == std::errc() && end_of_number == token.data() + token.size() && uid > 0) uids.emplace_back(token);
    }
  }
  return uids;
}

class ImapSession {
 public:
  explicit ImapSession(const ImapAccount& account) : account_(account), curl_(curl_easy_init(), &curl_easy_cleanup) {
    if (!curl_) throw InputError(account.url.display() + ": libcurl cannot make a handle");
    set(CURLOPT_PROTOCOLS_STR, "imaps");
    set(CURLOPT_USERNAME, account.url.user.c_str());
    set(CURLOPT_PASSWORD, account.password.c_str());
    set(CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!account.ca_file.empty()) set(CURLOPT_CAINFO, account.ca_file.c_str());
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
    set(CURLOPT_LOW_SPEED_LIMIT, 1L);
    set(CURLOPT_LOW_SPEED_TIME, kStallSeconds);
    set(CURLOPT_ERRORBUFFER, error_.data());
    set(CURLOPT_WRITEFUNCTION, &append_to_string);
  }

  // The response to `custom_request` (untagged lines), or the message at `url` when there is none.
  std::string perform(const std::string& url, const char* custom_request, CURLcode& code) {
    std::string body;
    error_[0] = '\0';
    set(CURLOPT_URL, url.c_str());
    set(CURLOPT_CUSTOMREQUEST, custom_request);
    set(CURLOPT_WRITEDATA, &body);
    code = curl_easy_perform(curl_.get());
    return body;
  }

  // libcurl's detail when it has one ("SSL certificate problem: ...", "Select failed"), else
  // the code's meaning.
  [[noreturn]] void fail(CURLcode code) const {
    std::string reason = error_[0] != '\0' ? std::string(error_.data()) : curl_easy_strerror(code);
    if (reason == "Select failed") reason = "the server cannot open the mailbox (SELECT failed): is its name right?";
    throw InputError(account_.url.display() + ": " + reason);
  }

 private:
  template <typename Value>
  void set(CURLoption option, Value value) {
    if (const CURLcode code = curl_easy_setopt(curl_.get(), option, value); code != CURLE_OK) fail(code);
  }

  const ImapAccount& account_;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl_;
  std::array<char, CURL_ERROR_SIZE> error_{};
};

}  // namespace

void read_imap_mailbox(const ImapAccount& account, const MailCallback& callback) {
  ensure_curl_ready();
  ImapSession session(account);
  const std::string mailbox_url = account.url.curl_url();
  CURLcode code = CURLE_OK;
  const std::string listing = session.perform(mailbox_url, "UID SEARCH ALL", code);
  if (code != CURLE_OK) session.fail(code);
  for (const std::string& uid : search_uids(listing)) {
    std::string message = session.perform(mailbox_url + "/;UID=" + uid, nullptr, code);
    if (code == CURLE_REMOTE_FILE_NOT_FOUND) continue;  // expunged since the listing
    if (code != CURLE_OK) session.fail(code);
    callback(SourcedMail{account.url.display() + ";UID=" + uid, std::move(message)});
  }
}

}  // namespace postern::combine
