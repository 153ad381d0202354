# Every dependency is a Debian 12 package; scripts/install-deps.sh installs them.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq)  # libpq itself: PQencryptPasswordConn
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(IDN2 REQUIRED IMPORTED_TARGET libidn2)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)  # postern-combine --imap
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)  # handlers: header patterns
pkg_check_modules(RABBITMQ REQUIRED IMPORTED_TARGET librabbitmq)  # journal upstreams of kind amqp
if(POSTERN_TESTS)
  find_package(GTest REQUIRED)
endif()
