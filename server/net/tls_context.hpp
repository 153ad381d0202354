// The server's TLS settings: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers, certificate and
// key from files. reload() (on SIGHUP) builds a new context and swaps it in for new connections;
// connections already open keep the one they started with, so nothing is dropped.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace postern::net {

class TlsContext {
 public:
  // Throws std::runtime_error naming the file when the certificate or key cannot be loaded.
  TlsContext(std::string certificate_file, std::string key_file);

  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Re-reads the files; on failure keeps the old context and rethrows.
  void reload();

 private:
  std::shared_ptr<boost::asio::ssl::context> build() const;

  std::string certificate_file_;
  std::string key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

}  // namespace postern::net
