#include "control/access_log_verify.h"

#include <gtest/gtest.h>

#include "control/access_log.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

using testutil::joinLines;
using testutil::lines;

// Builds a three-file log once per test, then each test tampers with it.
class AccessLogTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AccessLogOptions o;
    o.dir = dir();
    o.node_id = "node-1";
    o.key = key_;
    o.rotate_bytes = 3000;
    int64_t t = *parseTime("2026-11-21T10:00:00.000000Z");
    o.clock_us = [&t] { return t += 1000; };
    auto log = AccessLog::open(o, nullptr);
    ASSERT_TRUE(log.ok());
    // Three files, the newest with at least six lines.
    for (int i = 0; i < 100; ++i) {
      const auto names = listLogFiles(dir());
      if (names.size() == 3 && lines(test::readFile(dir() / names[2])).size() >= 6) break;
      ASSERT_TRUE((*log)->appendSync(testutil::joinRecord("r", i)).ok());
    }
    log->reset();
    names_ = listLogFiles(dir());
    ASSERT_EQ(names_.size(), 3u);
    ring_.add(key_);
    ASSERT_TRUE(verifyAccessLog(dir(), ring_).ok()) << verifyAccessLog(dir(), ring_).summary();
  }
  std::filesystem::path dir() const { return tmp_.path() / "log"; }
  std::filesystem::path file(size_t i) const { return dir() / names_[i]; }
  std::vector<std::string> fileLines(size_t i) const { return lines(test::readFile(file(i))); }
  uint64_t seqAt(size_t i, size_t line) const {
    return parseLine(fileLines(i)[line - 1]).value().seq;
  }
  VerifyFailure expectFailure() const {
    const auto report = verifyAccessLog(dir(), ring_);
    EXPECT_FALSE(report.ok());
    return report.failure.value_or(VerifyFailure{});
  }

  test::TempDir tmp_;
  AccessLogKey key_ = testutil::fixedKey(7);
  AccessLogKeyring ring_;
  std::vector<std::string> names_;
};

TEST_F(AccessLogTamperTest, SummaryOfAValidLog) {
  const auto report = verifyAccessLog(dir(), ring_);
  EXPECT_EQ(report.files, 3u);
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.records, report.last_seq);
  EXPECT_EQ(report.summary().rfind("OK 3 files, ", 0), 0u) << report.summary();
}

TEST_F(AccessLogTamperTest, EditedByteIsAMacMismatch) {
  auto ls = fileLines(1);
  const uint64_t seq = seqAt(1, 3);
  ls[2].replace(ls[2].find("192.0.2.1"), 9, "192.0.2.9");
  test::writeFile(file(1), joinLines(ls));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "mac_mismatch");
  EXPECT_EQ(f.file, names_[1]);
  EXPECT_EQ(f.line, 3u);
  EXPECT_EQ(f.seq, seq);
}

TEST_F(AccessLogTamperTest, EditThatBreaksJsonIsUnparsable) {
  auto ls = fileLines(0);
  ls[4][0] = '[';
  test::writeFile(file(0), joinLines(ls));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "unparsable");
  EXPECT_EQ(f.file, names_[0]);
  EXPECT_EQ(f.line, 5u);
}

TEST_F(AccessLogTamperTest, DeletedRecordIsASequenceGap) {
  auto ls = fileLines(0);
  const uint64_t next_seq = seqAt(0, 5);
  ls.erase(ls.begin() + 3);  // line 4
  test::writeFile(file(0), joinLines(ls));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "sequence_gap");
  EXPECT_EQ(f.file, names_[0]);
  EXPECT_EQ(f.line, 4u);
  EXPECT_EQ(f.seq, next_seq);
}

TEST_F(AccessLogTamperTest, InsertedCopyIsOutOfOrder) {
  auto ls = fileLines(2);
  ls.insert(ls.begin() + 4, ls[1]);  // a replay of line 2 as line 5
  test::writeFile(file(2), joinLines(ls));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "sequence_order");
  EXPECT_EQ(f.file, names_[2]);
  EXPECT_EQ(f.line, 5u);
  EXPECT_EQ(f.seq, seqAt(2, 2));
}

TEST_F(AccessLogTamperTest, InsertedForgedRecordIsAMacMismatch) {
  auto ls = fileLines(1);
  auto forged = parseLine(ls[2]).value();
  forged.room = "forged";
  ls.insert(ls.begin() + 3, toLine(forged));
  test::writeFile(file(1), joinLines(ls));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "mac_mismatch");
  EXPECT_EQ(f.line, 4u);
}

TEST_F(AccessLogTamperTest, SwappedRecordsAreDetectedAtTheFirst) {
  auto ls = fileLines(1);
  std::swap(ls[3], ls[4]);
  test::writeFile(file(1), joinLines(ls));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "sequence_gap");
  EXPECT_EQ(f.file, names_[1]);
  EXPECT_EQ(f.line, 4u);
  EXPECT_EQ(f.seq, seqAt(1, 4));
}

TEST_F(AccessLogTamperTest, TailTruncatedMidLineIsTorn) {
  std::string content = test::readFile(file(2));
  const size_t n = lines(content).size();
  content.resize(content.size() - 40);
  test::writeFile(file(2), content);
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "torn_line");
  EXPECT_EQ(f.file, names_[2]);
  EXPECT_EQ(f.line, n);
  EXPECT_FALSE(f.seq.has_value());
}

TEST_F(AccessLogTamperTest, RemovedMiddleFileIsMissing) {
  std::filesystem::remove(file(1));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "missing_file");
  EXPECT_EQ(f.file, names_[2]);
  EXPECT_EQ(f.line, 1u);
  EXPECT_NE(f.message.find(names_[1]), std::string::npos);
}

TEST_F(AccessLogTamperTest, RemovedFirstFileIsMissingWithoutAPruneRecord) {
  std::filesystem::remove(file(0));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "missing_file");
  EXPECT_EQ(f.file, names_[1]);
  EXPECT_EQ(f.line, 1u);
}

TEST_F(AccessLogTamperTest, ReorderedFilesAreDetected) {
  const auto tmp = dir() / "swap";
  std::filesystem::rename(file(1), tmp);
  std::filesystem::rename(file(2), file(1));
  std::filesystem::rename(tmp, file(2));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "file_order");
  EXPECT_EQ(f.file, names_[1]);
  EXPECT_EQ(f.line, 1u);
}

TEST_F(AccessLogTamperTest, RecordMovedToAnotherFileIsDetected) {
  auto a = fileLines(1);
  auto b = fileLines(2);
  b.insert(b.begin() + 1, a.back());
  a.pop_back();
  test::writeFile(file(1), joinLines(a));
  test::writeFile(file(2), joinLines(b));
  const auto f = expectFailure();
  EXPECT_EQ(f.code, "sequence_gap");  // file 3 links to a record no longer before it
  EXPECT_EQ(f.file, names_[2]);
  EXPECT_EQ(f.line, 1u);
}

TEST_F(AccessLogTamperTest, WrongKeyIsUnknown) {
  AccessLogKeyring other;
  other.add(testutil::fixedKey(8));
  const auto report = verifyAccessLog(dir(), other);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.failure->code, "unknown_key");
  EXPECT_EQ(report.failure->line, 1u);
}

TEST_F(AccessLogTamperTest, SingleFileVerifiesAnchoredAtItsLink) {
  const auto report = verifyAccessLog(file(1), ring_);
  ASSERT_TRUE(report.ok()) << report.summary();
  EXPECT_TRUE(report.standalone);
  EXPECT_EQ(report.first_seq, seqAt(1, 1));
  EXPECT_NE(report.summary().find("anchored at seq"), std::string::npos);
}

}  // namespace
}  // namespace medrelay::control
