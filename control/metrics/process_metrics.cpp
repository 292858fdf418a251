#include "control/metrics/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "control/metrics/exposition.h"

namespace medrelay::metrics {
namespace {

double timevalSeconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

// Entries of /proc/self/fd, minus the one opendir() itself holds.
double countOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  int n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;
}

// /proc/stat "btime": boot time in seconds since the epoch.
double bootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

// /proc/self/stat field 22 (starttime, clock ticks after boot), proc(5). Field 2 (comm) may hold
// spaces and parentheses, so fields are counted after the last ')'.
double startTimeSeconds() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  const double boot = bootTimeSeconds();
  if (ticks <= 0 || boot == 0) return 0;
  return boot + std::strtod(field.c_str(), nullptr) / static_cast<double>(ticks);
}

}  // namespace

ProcessMetrics::Sample ProcessMetrics::sample() {
  Sample s;
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    s.cpu_seconds = timevalSeconds(usage.ru_utime) + timevalSeconds(usage.ru_stime);
  }
  // /proc/self/statm: size resident ... in pages.
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long long size = 0;
    unsigned long long resident = 0;
    if (std::fscanf(f, "%llu %llu", &size, &resident) == 2) {
      const auto page = static_cast<double>(sysconf(_SC_PAGESIZE));
      s.virtual_bytes = static_cast<double>(size) * page;
      s.resident_bytes = static_cast<double>(resident) * page;
    }
    std::fclose(f);
  }
  s.open_fds = countOpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<double>(limit.rlim_cur);
  s.start_time_seconds = startTimeSeconds();
  return s;
}

void ProcessMetrics::collect(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  const Sample s = sample();
  auto add = [&out](const char* name, MetricType type, const char* help, double value) {
    auto family = makeFamily(name, help, type);
    addSample(family, {}, value);
    out.push_back(std::move(family));
  };
  add("process_cpu_seconds_total", MetricType::Counter, "User and system CPU time spent.",
      s.cpu_seconds);
  add("process_max_fds", MetricType::Gauge, "Maximum number of open file descriptors.", s.max_fds);
  add("process_open_fds", MetricType::Gauge, "Number of open file descriptors.", s.open_fds);
  add("process_resident_memory_bytes", MetricType::Gauge, "Resident memory size.",
      s.resident_bytes);
  add("process_start_time_seconds", MetricType::Gauge,
      "Start time of the process since the Unix epoch.", s.start_time_seconds);
  add("process_virtual_memory_bytes", MetricType::Gauge, "Virtual memory size.", s.virtual_bytes);
}

}  // namespace medrelay::metrics
