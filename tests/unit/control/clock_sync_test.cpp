#include "control/clock_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "control/access_log.h"
#include "control/access_log_reader.h"
#include "control/access_log_verify.h"
#include "net/dispatcher.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

using namespace std::chrono_literals;

std::vector<AccessRecord> clockRecords(const std::filesystem::path& dir) {
  std::vector<AccessRecord> out;
  auto all = AccessLogReader(dir).query({});
  if (!all) return out;
  for (auto& r : all.value()) {
    if (r.event == AccessEvent::kClockSync) out.push_back(std::move(r));
  }
  return out;
}

bool waitFor(const std::function<bool()>& done) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(ClockSyncTest, TheKernelStateReadsWithoutPrivilege) {
  auto s = readClockSync();
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GE(s->est_error_us, 0);
  EXPECT_GE(s->max_error_us, 0);
}

TEST(ClockSyncTest, RecordsAtStartAndWhenSynchronisationIsLostOrRegained) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "log";
  net::DispatcherThread control("control");
  AccessLogOptions o;
  o.dir = dir;
  o.node_id = "node-1";
  o.key = testutil::fixedKey(3);
  auto log = AccessLog::open(o, &control.dispatcher());
  ASSERT_TRUE(log.ok());

  std::atomic<bool> synced{true};
  std::atomic<int> reads{0};
  ClockSyncOptions opts;
  opts.check_interval = 10ms;
  opts.record_interval = 1h;
  opts.read = [&]() -> Result<ClockSyncState> {
    ++reads;
    ClockSyncState s;
    s.synced = synced;
    s.est_error_us = synced ? 1200 : 450000;
    s.max_error_us = 16000000;
    s.clock_state = synced ? 0 : 5;
    return s;
  };
  std::atomic<uint64_t> seen_losses{0};
  opts.on_state = [&](const ClockSyncState&, uint64_t losses) { seen_losses = losses; };
  std::unique_ptr<ClockSyncMonitor> monitor;
  control.runSync([&] {
    monitor = std::make_unique<ClockSyncMonitor>(control.dispatcher(), **log, opts);
    monitor->start();
  });

  ASSERT_TRUE(waitFor([&] { return clockRecords(dir).size() == 1; }));
  auto first = clockRecords(dir)[0];
  EXPECT_EQ(first.reason, "start");
  EXPECT_EQ(first.detail["synced"], true);
  EXPECT_EQ(first.detail["est_error_us"], 1200);
  EXPECT_EQ(first.detail["max_error_us"], 16000000);

  // Many checks while nothing changes: no record (the next one is due in an hour).
  const int before = reads.load();
  ASSERT_TRUE(waitFor([&] { return reads.load() >= before + 5; }));
  EXPECT_EQ(clockRecords(dir).size(), 1u);

  synced = false;
  ASSERT_TRUE(waitFor([&] { return clockRecords(dir).size() == 2; }));
  auto lost = clockRecords(dir)[1];
  EXPECT_EQ(lost.reason, "lost");
  EXPECT_EQ(lost.detail["synced"], false);
  EXPECT_EQ(lost.detail["est_error_us"], 450000);
  ASSERT_TRUE(waitFor([&] { return seen_losses.load() == 1; }));

  synced = true;
  ASSERT_TRUE(waitFor([&] { return clockRecords(dir).size() == 3; }));
  EXPECT_EQ(clockRecords(dir)[2].reason, "regained");
  control.runSync([&] {
    EXPECT_EQ(monitor->losses(), 1u);
    monitor.reset();
  });
}

// A clock stepped backwards never makes `time` decrease along the chain (docs/access-log.md,
// "Time"): the writer keeps the previous record's time.
TEST(ClockSyncTest, ABackwardsStepNeverOrdersRecordsBackwards) {
  test::TempDir tmp;
  AccessLogOptions o;
  o.dir = tmp.path() / "log";
  o.key = testutil::fixedKey(4);
  std::atomic<int64_t> now{*parseTime("2026-11-21T10:00:00.000000Z")};
  o.clock_us = [&] { return now.load(); };
  auto log = AccessLog::open(o, nullptr);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->appendSync(testutil::joinRecord("r", 1)).ok());
  now -= 3'600'000'000;  // an hour back
  ASSERT_TRUE((*log)->appendSync(testutil::joinRecord("r", 2)).ok());
  log->reset();
  const auto records = AccessLogReader(o.dir).query({}).value();
  ASSERT_GE(records.size(), 3u);
  for (size_t i = 1; i < records.size(); ++i) {
    EXPECT_GE(records[i].time_us, records[i - 1].time_us);
  }
  AccessLogKeyring ring;
  ring.add(*o.key);
  EXPECT_TRUE(verifyAccessLog(o.dir, ring).ok());
}

}  // namespace
}  // namespace medrelay::control
