#include "control/metrics/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>

#include "control/metrics/metrics.h"
#include "exposition_text.h"

namespace medrelay::metrics {
namespace {

TEST(ProcessMetricsTest, ValuesAreSane) {
  // Burn a little CPU so the counter is visibly above zero.
  volatile double x = 0;
  for (int i = 0; i < 5'000'000; ++i) x = x + std::sqrt(static_cast<double>(i));
  const auto s = ProcessMetrics::sample();
  EXPECT_GT(s.cpu_seconds, 0.0);
  EXPECT_GT(s.resident_bytes, 1024.0 * 1024);
  EXPECT_GE(s.virtual_bytes, s.resident_bytes);
  EXPECT_GE(s.open_fds, 3.0);  // stdin, stdout, stderr at least
  EXPECT_GE(s.max_fds, s.open_fds);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(s.start_time_seconds, now + 1);
  EXPECT_GT(s.start_time_seconds, now - 24 * 3600) << "this test process started recently";
}

TEST(ProcessMetricsTest, OpenFdsFollowOpenAndClose) {
  const double before = ProcessMetrics::sample().open_fds;
  const int a = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int b = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(ProcessMetrics::sample().open_fds, before + 2);
  close(a);
  close(b);
  EXPECT_EQ(ProcessMetrics::sample().open_fds, before);
}

TEST(ProcessMetricsTest, CpuCounterGrowsAndIsRendered) {
  Metrics metrics;
  const auto e1 = test::parseExposition(metrics.render());
  volatile double x = 0;
  for (int i = 0; i < 20'000'000; ++i) x = x + std::sqrt(static_cast<double>(i));
  const auto e2 = test::parseExposition(metrics.render());
  EXPECT_GT(e2.value("process_cpu_seconds_total"), e1.value("process_cpu_seconds_total"));
  EXPECT_GT(e2.value("process_resident_memory_bytes"), 0);
  EXPECT_GT(e2.value("process_open_fds"), 0);
  EXPECT_GT(e2.value("process_max_fds"), 0);
  EXPECT_GT(e2.value("process_start_time_seconds"), 1.6e9);
}

}  // namespace
}  // namespace medrelay::metrics
