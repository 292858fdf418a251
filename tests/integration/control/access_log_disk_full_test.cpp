// A real disk-full: the log on a 64 KiB tmpfs (needs CAP_SYS_ADMIN; skipped otherwise).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "control/access_log.h"
#include "control/access_log_reader.h"
#include "control/access_log_verify.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"
#include "tests/support/tmpfs_mount.h"

namespace medrelay::control {
namespace {

TEST(AccessLogDiskFullTest, TinyTmpfsFillsUpAndTheLogRecovers) {
  test::TempDir tmp;
  const auto mnt = tmp.path() / "mnt";
  test::TmpfsMount tmpfs(mnt, "64k");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << tmpfs.error();

  test::writeFile(mnt / "filler", std::string(16 * 1024, 'x'));
  AccessLogOptions o;
  o.dir = mnt / "log";
  o.node_id = "node-1";
  o.key = testutil::fixedKey(5);
  o.retry_interval = std::chrono::milliseconds(20);
  auto opened = AccessLog::open(o, nullptr);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& log = *opened;

  int ok = 0;
  std::optional<Error> failure;
  for (int i = 0; i < 5000 && !failure; ++i) {
    auto r = log->appendSync(testutil::joinRecord("fill", i));
    if (r.ok()) {
      ++ok;
    } else {
      failure = r.error();
    }
  }
  ASSERT_TRUE(failure.has_value()) << "the tmpfs never filled up";
  EXPECT_GT(ok, 10);
  EXPECT_EQ(failure->code, "access_log_unavailable");
  EXPECT_NE(failure->message.find("ENOSPC"), std::string::npos) << failure->message;
  EXPECT_TRUE(log->unhealthy());
  EXPECT_FALSE(log->appendSync(testutil::joinRecord("refused", 0)).ok());

  std::filesystem::remove(mnt / "filler");
  for (int i = 0; i < 500 && log->unhealthy(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(log->unhealthy());
  ASSERT_TRUE(log->appendSync(testutil::joinRecord("after", 0)).ok());
  log.reset();

  AccessLogKeyring ring;
  ring.add(testutil::fixedKey(5));
  const auto report = verifyAccessLog(mnt / "log", ring);
  ASSERT_TRUE(report.ok()) << report.summary();
  auto refused = AccessLogReader(mnt / "log").query([] {
    AccessLogQuery q;
    q.room = "refused";
    return q;
  }());
  EXPECT_TRUE(refused->empty());
  AccessLogQuery all;
  all.room = "fill";
  all.limit = 100000;
  EXPECT_EQ(AccessLogReader(mnt / "log").query(all)->size(), static_cast<size_t>(ok));
}

}  // namespace
}  // namespace medrelay::control
