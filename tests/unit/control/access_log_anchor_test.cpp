#include "control/access_log_anchor.h"

#include <gtest/gtest.h>

#include "control/access_log.h"
#include "control/access_log_files.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"

namespace medrelay::control {
namespace {

using testutil::joinLines;
using testutil::lines;

std::string anchorLine(const ChainHead& h) {
  return toJson(h).dump() + "\n";
}

// A three-file log with the chain head taken twice, as an exporter would have sent it.
class AccessLogAnchorTest : public ::testing::Test {
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
    for (int i = 0; i < 100; ++i) {
      const auto names = listLogFiles(dir());
      if (i == 10) early_ = (*log)->durableHead();
      if (names.size() == 3 && lines(test::readFile(dir() / names[2])).size() >= 6) break;
      ASSERT_TRUE((*log)->appendSync(testutil::joinRecord("r", i)).ok());
    }
    head_ = (*log)->durableHead();
    log->reset();
    names_ = listLogFiles(dir());
    ASSERT_EQ(names_.size(), 3u);
    ring_.add(key_);
  }
  std::filesystem::path dir() const { return tmp_.path() / "log"; }
  AnchorReport check(const std::string& anchors_text) {
    report_ = verifyAccessLog(dir(), ring_);
    EXPECT_TRUE(report_.ok()) << report_.summary();
    auto anchors = parseAnchors(anchors_text);
    EXPECT_TRUE(anchors) << anchors.error().message;
    return checkAnchors(report_, dir(), anchors ? *anchors : std::vector<Anchor>{}, "anchors");
  }

  test::TempDir tmp_;
  AccessLogKey key_ = testutil::fixedKey(7);
  AccessLogKeyring ring_;
  std::vector<std::string> names_;
  ChainHead early_;
  ChainHead head_;
  VerifyReport report_;
};

TEST_F(AccessLogAnchorTest, AnIntactLogMatchesEveryAnchor) {
  ASSERT_GT(head_.seq, early_.seq);
  EXPECT_EQ(head_.mac.size(), 64u);
  const auto r =
      check("# heads kept by the backend\n" + anchorLine(early_) + "\n" +
            R"({"type":"access_log.room_created","chain_head":)" + toJson(head_).dump() + "}\n");
  EXPECT_FALSE(r.failure) << r.failure->describe();
  EXPECT_EQ(r.checked, 2u);
  EXPECT_EQ(r.newest_seq, head_.seq);
}

TEST_F(AccessLogAnchorTest, ATruncatedTailVerifiesAloneButNotAgainstTheAnchor) {
  auto ls = lines(test::readFile(dir() / names_[2]));
  ls.resize(ls.size() - 2);
  test::writeFile(dir() / names_[2], joinLines(ls));
  const auto r = check(anchorLine(early_) + anchorLine(head_));
  EXPECT_TRUE(report_.ok()) << "plain verify accepts a cut tail: " << report_.summary();
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->code, "truncated");
  EXPECT_EQ(r.failure->line, 2u);
  EXPECT_EQ(r.failure->seq, head_.seq);
  EXPECT_NE(r.failure->describe().find("the log ends at seq " + std::to_string(head_.seq - 2)),
            std::string::npos)
      << r.failure->describe();
}

TEST_F(AccessLogAnchorTest, ARemovedNewestFileIsTruncation) {
  std::filesystem::remove(dir() / names_[2]);
  const auto r = check(anchorLine(head_));
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->code, "truncated");
}

TEST_F(AccessLogAnchorTest, AnAnchorWithAnotherMacIsAMismatch) {
  ChainHead forged = early_;
  forged.mac = std::string(64, '0');
  const auto r = check(anchorLine(forged));
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->code, "anchor_mismatch");
}

TEST_F(AccessLogAnchorTest, MalformedAnchorLinesNameTheLine) {
  for (const char* text : {"{\"seq\":3}\n", "\n\nnot json\n", "{\"seq\":0,\"mac\":\"00\"}\n",
                           "{\"seq\":-1,\"mac\":\"" /* cut */}) {
    auto r = parseAnchors(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, "invalid_anchor");
    EXPECT_NE(r.error().message.find("line "), std::string::npos);
  }
  auto r = parseAnchors("\n\n{\"seq\":3}\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace medrelay::control
