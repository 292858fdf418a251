// Runs the audit CLI (medrelay_audit_tool → runAuditCli) as a subprocess.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "control/access_log.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

struct Run {
  int status = -1;
  std::string out;
};

Run audit(const std::string& args) {
  Run run;
  const std::string cmd = std::string(MEDRELAY_AUDIT_TOOL) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) run.out.append(buf, n);
  const int st = ::pclose(p);
  run.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return run;
}

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AccessLogOptions o;
    o.dir = dir();  // key file: <tmp>/access-log.key, created on first use
    o.node_id = "node-cli";
    o.rotate_bytes = 2500;
    auto log = AccessLog::open(o, nullptr);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 20; ++i) {
      auto rec = testutil::joinRecord(i % 2 == 0 ? "room-a" : "room-b", i);
      if (i == 3) rec.subject = "evil\x1b[2J";
      ASSERT_TRUE((*log)->appendSync(rec).ok());
    }
  }
  std::filesystem::path dir() const { return tmp_.path() / "log"; }
  test::TempDir tmp_;
};

TEST_F(AuditCliTest, VerifyValidLogPrintsOneLineAndExitsZero) {
  const auto r = audit("verify " + dir().string());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.rfind("OK 4 files, ", 0), 0u) << r.out;  // 21 records + 3 file links
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  EXPECT_NE(r.out.find("24 records, seq 1..24"), std::string::npos) << r.out;

  const auto with_key =
      audit("verify " + dir().string() + " --key " + (tmp_.path() / "access-log.key").string());
  EXPECT_EQ(with_key.status, 0) << with_key.out;
}

TEST_F(AuditCliTest, VerifyTamperedLogNamesTheFirstBadRecord) {
  const auto name = listLogFiles(dir()).front();
  auto ls = testutil::lines(test::readFile(dir() / name));
  const auto seq = parseLine(ls[2]).value().seq;
  ls[2].replace(ls[2].find("room-"), 6, "room-z");
  test::writeFile(dir() / name, testutil::joinLines(ls));
  const auto r = audit("verify " + dir().string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL " + name + " line 3 seq " + std::to_string(seq) + ": mac_mismatch"),
            std::string::npos)
      << r.out;

  // The wrong key fails as well.
  const auto other = tmp_.path() / "other.key";
  ASSERT_TRUE(writeKeyFile(other, testutil::fixedKey(9)).ok());
  const auto wrong = audit("verify " + dir().string() + " --key " + other.string());
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.out.find("unknown_key"), std::string::npos) << wrong.out;
}

TEST_F(AuditCliTest, ShowListsByRoomAndSince) {
  const auto r = audit("show --dir " + dir().string() + " --room room-b");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("(10 records)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("room=room-a"), std::string::npos);
  EXPECT_NE(r.out.find("participant_joined  room=room-b  invite=inv-1  role=patient"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "control characters are escaped";
  EXPECT_NE(r.out.find(R"(subject="evil\u001b[2J")"), std::string::npos) << r.out;

  const auto none = audit("show --dir " + dir().string() + " --since 2999-01-01T00:00:00Z");
  EXPECT_EQ(none.status, 0);
  EXPECT_NE(none.out.find("(0 records)"), std::string::npos) << none.out;
  EXPECT_NE(audit("show --dir " + dir().string() + " --since yesterday").status, 0);
}

TEST_F(AuditCliTest, UsageErrorsAreNonZero) {
  EXPECT_NE(audit("").status, 0);
  EXPECT_NE(audit("verify").status, 0);
  EXPECT_NE(audit("frobnicate").status, 0);
}

}  // namespace
}  // namespace medrelay::control
