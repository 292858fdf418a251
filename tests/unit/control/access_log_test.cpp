#include "control/access_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "control/access_log_reader.h"
#include "control/access_log_verify.h"
#include "net/dispatcher.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

using testutil::fixedKey;
using testutil::joinRecord;

AccessLogQuery query(std::string room, std::optional<int64_t> since, uint64_t after_seq) {
  AccessLogQuery q;
  q.room = std::move(room);
  q.since_us = since;
  q.after_seq = after_seq;
  return q;
}

class AccessLogTest : public ::testing::Test {
 protected:
  AccessLogOptions options() {
    AccessLogOptions o;
    o.dir = dir_.path() / "log";
    o.node_id = "node-1";
    o.key = key_;
    o.retry_interval = std::chrono::milliseconds(20);
    o.clock_us = [this] { return clock_.load(); };
    return o;
  }
  std::unique_ptr<AccessLog> open(AccessLogOptions o, net::Dispatcher* d = nullptr) {
    auto log = AccessLog::open(std::move(o), d);
    EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
    return log.ok() ? std::move(log).value() : nullptr;
  }
  VerifyReport verify(std::vector<AccessLogKey> keys = {}) {
    AccessLogKeyring ring;
    ring.add(key_);
    for (const auto& k : keys) ring.add(k);
    return verifyAccessLog(dir_.path() / "log", ring);
  }
  std::filesystem::path logDir() const { return dir_.path() / "log"; }
  std::vector<std::string> files() const { return listLogFiles(logDir()); }

  test::TempDir dir_;
  AccessLogKey key_ = fixedKey(1);
  std::atomic<int64_t> clock_{*parseTime("2026-11-21T10:00:00.000000Z")};
};

TEST_F(AccessLogTest, CreatesKeyFileWritesChainAndContinuesAfterReopen) {
  auto o = options();
  o.key.reset();  // default key file <dir>/../access-log.key
  {
    auto log = open(o);
    ASSERT_TRUE(log);
    for (int i = 0; i < 10; ++i) {
      auto seq = log->appendSync(joinRecord("room-a", i));
      ASSERT_TRUE(seq.ok()) << seq.error().message;
      EXPECT_EQ(*seq, static_cast<uint64_t>(i + 2));  // seq 1 is log_opened
    }
  }
  const auto key_file = dir_.path() / "access-log.key";
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto key = loadKeyFile(key_file);
  ASSERT_TRUE(key.ok());
  {
    auto log = open(o);
    ASSERT_TRUE(log);
    EXPECT_EQ(log->currentKeyId(), key->id);
    EXPECT_EQ(log->appendSync(joinRecord("room-a", 99)).value(), 13u);  // 12 was log_reopened
  }
  AccessLogKeyring ring;
  ring.add(*key);
  const auto report = verifyAccessLog(logDir(), ring);
  ASSERT_TRUE(report.ok()) << report.summary();
  EXPECT_EQ(report.records, 13u);
  EXPECT_EQ(report.last_seq, 13u);
  auto recs = AccessLogReader(logDir()).query({});
  ASSERT_TRUE(recs.ok());
  ASSERT_EQ(recs->size(), 13u);
  EXPECT_EQ(recs->front().event, AccessEvent::kLogOpened);
  EXPECT_EQ((*recs)[11].event, AccessEvent::kLogReopened);
  EXPECT_EQ((*recs)[12].invite, "inv-99");
  EXPECT_EQ((*recs)[12].node, "node-1");
}

TEST_F(AccessLogTest, AsyncAppendsFromManyThreadsCompleteInOrderWithGroupCommit) {
  auto files = std::make_shared<testutil::FaultyFiles>();
  files->sync_delay_us = 2000;
  auto o = options();
  o.files = files;
  net::DispatcherThread control("control");
  auto log = open(o, &control.dispatcher());
  ASSERT_TRUE(log);
  const uint64_t syncs_before = files->syncs;

  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::vector<uint64_t> completed;  // touched only on the control thread
  std::atomic<int> wrong_thread{0};
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        log->append(joinRecord("room-" + std::to_string(t), i), [&](Result<uint64_t> r) {
          if (!control.dispatcher().isLoopThread()) ++wrong_thread;
          if (r.ok()) {
            completed.push_back(*r);
          } else {
            ++failures;
          }
          ++done;
        });
      }
    });
  }
  for (auto& p : producers) p.join();
  for (int i = 0; i < 1000 && done < kThreads * kPerThread; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  control.runSync([] {});
  ASSERT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(wrong_thread.load(), 0);
  control.runSync([&] {
    ASSERT_EQ(completed.size(), static_cast<size_t>(kThreads * kPerThread));
    for (size_t i = 1; i < completed.size(); ++i) EXPECT_EQ(completed[i], completed[i - 1] + 1);
  });
  const uint64_t syncs = files->syncs - syncs_before;
  EXPECT_GT(syncs, 0u);
  EXPECT_LT(syncs * 5, static_cast<uint64_t>(kThreads * kPerThread)) << syncs << " fdatasyncs";
  log.reset();
  EXPECT_TRUE(verify().ok());
}

TEST_F(AccessLogTest, RotatesBySizeAndKeepsTheChain) {
  auto o = options();
  o.rotate_bytes = 2000;
  auto log = open(o);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(log->appendSync(joinRecord("room-s", i)).ok());
  log.reset();
  const auto names = files();
  ASSERT_GE(names.size(), 5u);
  for (size_t i = 0; i < names.size(); ++i) {
    const auto content = test::readFile(logDir() / names[i]);
    auto first = parseLine(testutil::lines(content).front());
    ASSERT_TRUE(first.ok());
    if (i == 0) {
      EXPECT_EQ(first->event, AccessEvent::kLogOpened);
    } else {
      EXPECT_EQ(first->event, AccessEvent::kFileLinked);
      EXPECT_EQ(first->detail["prev_file"], names[i - 1]);
      EXPECT_EQ(parseLogFileName(names[i])->first_seq, first->seq);
      EXPECT_LT(content.size(), 2000u + 600u);
    }
  }
  const auto report = verify();
  ASSERT_TRUE(report.ok()) << report.summary();
  EXPECT_EQ(report.files, names.size());
  auto room = AccessLogReader(logDir()).query(query("room-s", std::nullopt, 0));
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(room->size(), 60u);
}

TEST_F(AccessLogTest, RotatesAtUtcMidnight) {
  clock_ = *parseTime("2026-11-21T23:59:59.900000Z");
  auto log = open(options());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->appendSync(joinRecord("r", i)).ok());
  clock_ = *parseTime("2026-11-22T00:00:00.100000Z");
  for (int i = 3; i < 6; ++i) ASSERT_TRUE(log->appendSync(joinRecord("r", i)).ok());
  log.reset();
  const auto names = files();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].substr(0, 15), "access-20261121");
  EXPECT_EQ(names[1].substr(0, 15), "access-20261122");
  EXPECT_TRUE(verify().ok()) << verify().summary();
  auto since = AccessLogReader(logDir()).query(query("", clock_.load(), 0));
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 4u);  // file_linked + 3
  EXPECT_EQ(since->front().event, AccessEvent::kFileLinked);
  EXPECT_EQ(formatTime(since->front().time_us), "2026-11-22T00:00:00.100000Z");
}

TEST_F(AccessLogTest, RetentionPrunesOldFilesAndTheGapVerifies) {
  auto o = options();
  o.retention_days = 2;
  const int64_t day = int64_t{86400} * 1000000;
  const int64_t start = clock_;
  auto log = open(o);
  for (int d = 0; d < 6; ++d) {
    clock_ = start + d * day;
    ASSERT_TRUE(log->appendSync(joinRecord("r", d)).ok());
  }
  log.reset();
  const auto names = files();
  // A file's records end when the next file begins: day 2's file ends exactly at the cutoff.
  ASSERT_EQ(names.size(), 4u) << "days 2, 3, 4, 5 survive";
  EXPECT_EQ(names[0].substr(0, 15), "access-20261123");
  const auto report = verify();
  ASSERT_TRUE(report.ok()) << report.summary();
  EXPECT_EQ(report.pruned_before.substr(0, 15), "access-20261122");
  auto pruned = AccessLogReader(logDir()).query({});
  int prune_records = 0;
  for (const auto& r : *pruned) prune_records += r.event == AccessEvent::kFilesPruned;
  EXPECT_GE(prune_records, 1);

  // Deleting a surviving file is not authorised by any files_pruned record.
  std::filesystem::remove(logDir() / names[0]);
  const auto bad = verify();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.failure->code, "missing_file");
  EXPECT_EQ(bad.failure->file, names[1]);
  EXPECT_EQ(bad.failure->line, 1u);
}

TEST_F(AccessLogTest, KeyRotationVerifiesWithKeyringOnly) {
  const AccessLogKey k2 = fixedKey(50);
  const AccessLogKey k3 = fixedKey(90);
  {
    auto log = open(options());
    ASSERT_TRUE(log->appendSync(joinRecord("r", 1)).ok());
    auto rot = log->rotateKey(k2);
    ASSERT_TRUE(rot.ok()) << rot.error().message;
    EXPECT_EQ(log->currentKeyId(), k2.id);
    ASSERT_TRUE(log->appendSync(joinRecord("r", 2)).ok());
  }
  {
    // Restart configured with k3, k2 known as a previous key: key_rotated is written at open.
    auto o = options();
    o.key = k3;
    o.previous_keys = {key_, k2};
    auto log = open(o);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->appendSync(joinRecord("r", 3)).ok());
  }
  {
    auto o = options();
    o.key = k3;  // the older keys not given: the newest file cannot be checked
    auto reopened = AccessLog::open(o, nullptr);
    ASSERT_FALSE(reopened.ok());
    EXPECT_EQ(reopened.error().code, "access_log_key");
  }
  const auto ok = verify({k2, k3});
  ASSERT_TRUE(ok.ok()) << ok.summary();
  EXPECT_EQ(ok.key_id, k3.id);

  AccessLogKeyring without_old;
  without_old.add(k2);
  without_old.add(k3);
  auto missing = verifyAccessLog(logDir(), without_old);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.failure->code, "unknown_key");
  EXPECT_EQ(missing.failure->line, 1u);

  AccessLogKeyring only_old;
  only_old.add(key_);
  only_old.add(k3);
  auto no_k2 = verifyAccessLog(logDir(), only_old);
  ASSERT_FALSE(no_k2.ok());
  EXPECT_EQ(no_k2.failure->code, "unknown_key");
  EXPECT_EQ(no_k2.failure->seq, 4u);  // log_opened, join, key_rotated, then the first k2 record
}

TEST_F(AccessLogTest, TornTailIsMovedAsideAndNoted) {
  {
    auto log = open(options());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->appendSync(joinRecord("r", i)).ok());
  }
  const auto name = files().back();
  const std::string good = test::readFile(logDir() / name);
  const std::string torn = R"({"detail":{},"event":"participant_jo)";
  test::writeFile(logDir() / name, good + torn);
  auto before = verify();
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.failure->code, "torn_line");
  EXPECT_EQ(before.failure->line, 7u);

  auto log = open(options());
  ASSERT_TRUE(log);
  const auto side = logDir() / (name + "." + std::to_string(good.size()) + ".torn");
  EXPECT_EQ(test::readFile(side), torn);
  EXPECT_EQ(log->appendSync(joinRecord("r", 9)).value(), 9u);  // 7 log_recovered, 8 log_reopened
  log.reset();
  const auto after = verify();
  ASSERT_TRUE(after.ok()) << after.summary();
  auto recs = AccessLogReader(logDir()).query(query("", std::nullopt, 6));
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[0].event, AccessEvent::kLogRecovered);
  EXPECT_EQ((*recs)[0].detail["torn_bytes"], torn.size());
  EXPECT_EQ((*recs)[1].event, AccessEvent::kLogReopened);
}

TEST_F(AccessLogTest, BrokenChainRefusedUnlessOperatorRestartsIt) {
  {
    auto log = open(options());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->appendSync(joinRecord("r", i)).ok());
  }
  const auto name = files().back();
  auto ls = testutil::lines(test::readFile(logDir() / name));
  ls[3].replace(ls[3].find("inv-2"), 5, "inv-7");
  test::writeFile(logDir() / name, testutil::joinLines(ls));

  auto refused = AccessLog::open(options(), nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "access_log_corrupt");
  EXPECT_NE(refused.error().message.find("line 4 seq 4: mac_mismatch"), std::string::npos)
      << refused.error().message;

  auto o = options();
  o.restart_broken_chain = true;
  auto log = open(o);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->appendSync(joinRecord("r", 10)).ok());
  log.reset();
  const auto names = files();
  ASSERT_EQ(names.size(), 2u);
  auto first = parseLine(testutil::lines(test::readFile(logDir() / names[1])).front());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->event, AccessEvent::kChainRestarted);
  EXPECT_EQ(first->seq, 4u);
  EXPECT_EQ(first->detail["error"], "mac_mismatch");
  // prev_mac links the last good record (seq 3).
  auto third = parseLine(testutil::lines(test::readFile(logDir() / names[0]))[2]);
  EXPECT_EQ(first->prev_mac, third->mac);
  AccessLogKeyring ring;
  ring.add(key_);
  EXPECT_TRUE(verifyAccessLog(logDir() / names[1], ring).ok());
  EXPECT_EQ(verifyAccessLog(logDir(), ring).failure->code, "mac_mismatch");  // evidence stays
}

TEST_F(AccessLogTest, IoErrorsFailAppendsMarkUnhealthyAndRecover) {
  for (const int err : {ENOSPC, EIO}) {
    SCOPED_TRACE(err);
    auto files = std::make_shared<testutil::FaultyFiles>();
    auto o = options();
    o.files = files;
    net::DispatcherThread control("control");
    auto log = open(o, &control.dispatcher());
    ASSERT_TRUE(log->appendSync(joinRecord("ok", 1)).ok());

    if (err == ENOSPC) {
      files->write_errno = ENOSPC;
    } else {
      files->sync_errno = EIO;
    }
    auto failed = log->appendSync(joinRecord("failed", 2));
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, "access_log_unavailable");
    EXPECT_TRUE(log->unhealthy());
    std::promise<Result<uint64_t>> async_result;
    log->append(joinRecord("failed", 3), [&](Result<uint64_t> r) { async_result.set_value(r); });
    auto r3 = async_result.get_future().get();
    EXPECT_FALSE(r3.ok());
    EXPECT_EQ(r3.error().code, "access_log_unavailable");
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // retries keep failing
    EXPECT_TRUE(log->unhealthy());
    EXPECT_GE(log->stats().io_errors, 2u);
    EXPECT_GE(log->stats().failed_appends, 2u);

    files->write_errno = 0;
    files->sync_errno = 0;
    for (int i = 0; i < 500 && log->unhealthy(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_FALSE(log->unhealthy());
    ASSERT_TRUE(log->appendSync(joinRecord("ok", 4)).ok());
    log.reset();
    const auto report = verify();
    ASSERT_TRUE(report.ok()) << report.summary();
    auto recs = AccessLogReader(logDir()).query({});
    bool saw_recovered = false;
    for (const auto& rec : *recs) {
      EXPECT_NE(rec.room, "failed");  // failed appends never reach the log
      if (rec.event == AccessEvent::kIoRecovered) {
        saw_recovered = true;
        EXPECT_GE(rec.detail["failed_appends"].get<uint64_t>(), 2u);
        EXPECT_EQ(rec.detail["error"], err == ENOSPC ? "ENOSPC" : "EIO");
      }
    }
    EXPECT_TRUE(saw_recovered);
    std::filesystem::remove_all(logDir());
  }
}

TEST_F(AccessLogTest, CallersCannotWriteTheLogsOwnEvents) {
  auto log = open(options());
  AccessRecord r;
  r.event = AccessEvent::kFileLinked;
  EXPECT_EQ(log->appendSync(r).error().code, "invalid_record");
  r.event = AccessEvent::kKeyRotated;
  EXPECT_EQ(log->appendSync(r).error().code, "invalid_record");
}

}  // namespace
}  // namespace medrelay::control
