// See cpu_quota.hpp.
#include "server/runtime/cpu_quota.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sched.h>
#include <unistd.h>

namespace postern {
namespace {

constexpr std::string_view kCgroupRoot = "/sys/fs/cgroup";

std::optional<long long> number(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  long long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The folder of a cgroup and each of its ancestors up to the mount point, deepest first.
std::vector<std::string> folders_up(const std::string& mount, std::string_view path) {
  std::vector<std::string> out;
  std::string p(path);
  while (!p.empty() && p != "/") {
    out.push_back(mount + p);
    p.erase(p.rfind('/'));
  }
  out.push_back(mount);
  return out;
}

// The smallest limit found in the folders (the container's own cgroup may be mounted as the
// root, so the mount point itself is always looked at).
std::optional<double> quota(std::string_view proc_self_cgroup) {
  std::optional<double> smallest;
  const auto keep = [&](std::optional<double> limit) {
    if (limit && (!smallest || *limit < *smallest)) smallest = limit;
  };
  if (auto v2 = cgroup_path(proc_self_cgroup, "")) {
    for (const auto& folder : folders_up(std::string(kCgroupRoot), *v2)) {
      if (auto text = read_file(folder + "/cpu.max")) keep(cgroup2_cpu_limit(*text));
    }
  }
  if (auto v1 = cgroup_path(proc_self_cgroup, "cpu")) {
    for (const char* mount : {"/cpu", "/cpu,cpuacct", "/cpuacct,cpu"}) {
      for (const auto& folder : folders_up(std::string(kCgroupRoot) + mount, *v1)) {
        auto quota_us = read_file(folder + "/cpu.cfs_quota_us");
        auto period_us = read_file(folder + "/cpu.cfs_period_us");
        if (quota_us && period_us) keep(cgroup1_cpu_limit(*quota_us, *period_us));
      }
    }
  }
  return smallest;
}

unsigned affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<unsigned>(online) : 1;
}

}  // namespace

std::optional<double> cgroup2_cpu_limit(std::string_view cpu_max) {
  const auto space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota_us = number(cpu_max.substr(0, space));  // "max" is no number: no limit
  const auto period_us = number(cpu_max.substr(space + 1));
  if (!quota_us || !period_us || *quota_us <= 0 || *period_us <= 0) return std::nullopt;
  return static_cast<double>(*quota_us) / static_cast<double>(*period_us);
}

std::optional<double> cgroup1_cpu_limit(std::string_view quota_us, std::string_view period_us) {
  const auto quota_value = number(quota_us);
  const auto period_value = number(period_us);
  if (!quota_value || !period_value || *quota_value <= 0 || *period_value <= 0) return std::nullopt;
  return static_cast<double>(*quota_value) / static_cast<double>(*period_value);
}

std::optional<std::string_view> cgroup_path(std::string_view proc_self_cgroup, std::string_view controller) {
  while (!proc_self_cgroup.empty()) {
    const auto end = proc_self_cgroup.find('\n');
    std::string_view line = proc_self_cgroup.substr(0, end);
    proc_self_cgroup = end == std::string_view::npos ? std::string_view{} : proc_self_cgroup.substr(end + 1);
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (controller.empty()) {
      if (line.substr(0, first) == "0" && controllers.empty()) return path;
      continue;
    }
    for (std::string_view rest = controllers; !rest.empty();) {
      const auto comma = rest.find(',');
      if (rest.substr(0, comma) == controller) return path;
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return std::nullopt;
}

unsigned usable_cpus() {
  const unsigned cpus = affinity_cpus();
  const auto self = read_file("/proc/self/cgroup");
  const auto limit = self ? quota(*self) : std::nullopt;
  if (!limit) return cpus;
  return std::clamp(static_cast<unsigned>(std::ceil(*limit)), 1u, cpus);
}

}  // namespace postern
