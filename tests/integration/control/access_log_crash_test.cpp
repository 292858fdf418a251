// Crash safety: a child appends in a tight loop and reports every acknowledged sequence number
// through a pipe; the parent SIGKILLs it at a random moment, then recovers and verifies the log.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "control/access_log.h"
#include "control/access_log_reader.h"
#include "control/access_log_verify.h"
#include "net/dispatcher.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

AccessLogOptions crashOptions(const std::filesystem::path& dir) {
  AccessLogOptions o;
  o.dir = dir;
  o.node_id = "node-crash";
  o.key = testutil::fixedKey(3);
  o.rotate_bytes = 64 * 1024;  // several rotations per run
  return o;
}

[[noreturn]] void childMain(const std::filesystem::path& dir, int out_fd) {
  net::Dispatcher loop("child");
  auto opened = AccessLog::open(crashOptions(dir), &loop);
  if (!opened.ok()) _exit(3);
  AccessLog& log = **opened;
  int n = 0;
  std::function<void(Result<uint64_t>)> on_durable = [&](Result<uint64_t> r) {
    if (!r.ok()) _exit(4);
    const uint64_t seq = *r;
    if (::write(out_fd, &seq, sizeof seq) != sizeof seq) _exit(5);
    log.append(testutil::joinRecord("crash", n++), on_durable);
  };
  for (int i = 0; i < 32; ++i) log.append(testutil::joinRecord("crash", n++), on_durable);
  loop.run();
  _exit(0);
}

TEST(AccessLogCrashTest, EveryAcknowledgedRecordSurvivesSigkill) {
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    test::TempDir tmp;
    const auto dir = tmp.path() / "log";
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      childMain(dir, fds[1]);
    }
    ::close(fds[1]);
    std::vector<uint64_t> acked;
    std::atomic<bool> first_ack{false};
    std::thread reader([&] {
      uint64_t seq;
      size_t have = 0;
      char* p = reinterpret_cast<char*>(&seq);
      for (;;) {
        const ssize_t n = ::read(fds[0], p + have, sizeof seq - have);
        if (n <= 0) break;
        have += static_cast<size_t>(n);
        if (have == sizeof seq) {
          acked.push_back(seq);
          first_ack = true;
          have = 0;
        }
      }
    });
    // The kill lands at a random moment after the child is up and acknowledging (on a loaded
    // machine the first fdatasync can take longer than the shortest delay).
    const auto up_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!first_ack && std::chrono::steady_clock::now() < up_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const int delay_ms = std::uniform_int_distribution<int>(0, 370)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    reader.join();
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    ASSERT_FALSE(acked.empty()) << "nothing acknowledged in " << delay_ms << " ms";

    // Open recovers a torn tail, if the kill left one; then the whole chain must verify.
    {
      auto log = AccessLog::open(crashOptions(dir), nullptr);
      ASSERT_TRUE(log.ok()) << log.error().message;
    }
    AccessLogKeyring ring;
    ring.add(testutil::fixedKey(3));
    const auto report = verifyAccessLog(dir, ring);
    ASSERT_TRUE(report.ok()) << report.summary();
    AccessLogQuery q;
    q.room = "crash";
    q.limit = SIZE_MAX;
    auto records = AccessLogReader(dir).query(q);
    ASSERT_TRUE(records.ok());
    std::set<uint64_t> present;
    for (const auto& r : *records) present.insert(r.seq);
    for (const uint64_t s : acked) ASSERT_TRUE(present.count(s)) << "acknowledged seq " << s;
    EXPECT_GE(present.size(), acked.size());
    std::printf("round %d: killed after %d ms, %zu acknowledged, %zu present, %llu files\n", round,
                delay_ms, acked.size(), present.size(),
                static_cast<unsigned long long>(report.files));
  }
}

}  // namespace
}  // namespace medrelay::control
