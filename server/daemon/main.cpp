// postern: the relay daemon. `postern --config postern.yaml` serves; `--check-config` validates
// the file and exits; `--version` prints the version.
#include "server/config/config.hpp"
#include "server/daemon/daemon.hpp"

#include <cstring>
#include <iostream>
#include <string>

namespace {

constexpr const char* kUsage =
    "usage: postern [--config FILE] [--check-config] [--version]\n"
    "  --config FILE    configuration (default: /etc/postern/postern.yaml)\n"
    "  --check-config   validate the configuration and exit\n"
    "  --version        print the version and exit\n";

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/postern/postern.yaml";
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--version") {
      std::cout << "postern " << POSTERN_VERSION << "\n";
      return 0;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = arg.substr(std::strlen("--config="));
    } else {
      std::cerr << "postern: unknown argument " << arg << "\n" << kUsage;
      return 2;
    }
  }

  postern::config::Config config;
  try {
    config = postern::config::load_config(config_path);
  } catch (const std::exception& e) {
    std::cerr << "postern: " << e.what() << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": ok (" << postern::config::describe(config) << ")\n";
    return 0;
  }
  try {
    postern::daemon::Daemon daemon{config, config_path};
    std::cout << std::flush;
    return daemon.run();
  } catch (const std::exception& e) {
    std::cerr << "postern: " << e.what() << "\n";
    return 1;
  }
}
