// Context fields and rate-limited lines of common/logging.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "common/logging.h"

namespace medrelay::log {
namespace {

class LoggingContextTest : public ::testing::Test {
 protected:
  void SetUp() override { setSink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)); }
  void TearDown() override {
    configure("info", Format::kText);
    setSink(nullptr);
  }
  std::vector<std::string> lines() {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
  std::ostringstream out_;
};

TEST_F(LoggingContextTest, JsonHasContextAsSeparateFields) {
  ASSERT_TRUE(configure("info", Format::kJson));
  auto logger = get("policy");
  const std::string room = "r-\"quoted\"";
  MR_LOG_INFO_CTX(logger, context({{"room", room}, {"session", "s-1"}, {"invite", ""}}),
                  "participant {} joined", 7);
  MR_LOG_WARN_CTX(logger, context({{"token", "mrinv_secret"}, {"subject", "pt-1"}}), "no fields");
  const auto ls = lines();
  ASSERT_EQ(ls.size(), 2u) << out_.str();
  const auto j = nlohmann::json::parse(ls[0]);
  EXPECT_EQ(j["room"], room);
  EXPECT_EQ(j["session"], "s-1");
  EXPECT_FALSE(j.contains("invite"));  // empty values are left out
  EXPECT_EQ(j["msg"], "participant 7 joined");
  EXPECT_EQ(j["component"], "policy");
  const auto k = nlohmann::json::parse(ls[1]);
  EXPECT_EQ(k.size(), 4u) << ls[1];  // unknown keys (token, subject) are dropped
  EXPECT_EQ(k["msg"], "no fields");
  EXPECT_EQ(ls[1].find("mrinv_secret"), std::string::npos);
}

TEST_F(LoggingContextTest, TextPutsContextAfterTheMessage) {
  ASSERT_TRUE(configure("info", Format::kText));
  auto logger = get("policy");
  MR_LOG_INFO_CTX(logger, context({{"room", "r1"}, {"session", "s\n2"}}), "left: {}", "hangup");
  MR_LOG_INFO(logger, "plain {}", 1);
  const auto ls = lines();
  ASSERT_EQ(ls.size(), 2u) << out_.str();
  EXPECT_NE(ls[0].find("[policy] left: hangup room=r1 session=s2"), std::string::npos) << ls[0];
  EXPECT_NE(ls[1].find("[policy] plain 1"), std::string::npos) << ls[1];
}

TEST_F(LoggingContextTest, ForgedMarkersInPlainMessagesAreHarmless) {
  ASSERT_TRUE(configure("info", Format::kJson));
  auto logger = get("http");
  // Untrusted text that imitates the context block cannot add unknown fields or break the line.
  MR_LOG_INFO(logger, "{}",
              std::string("\x1dlevel\x1f"
                          "fake\x1e\x1dhello"));
  MR_LOG_INFO(logger, "{}", std::string("\x1dunterminated"));
  const auto ls = lines();
  ASSERT_EQ(ls.size(), 2u);
  const auto j = nlohmann::json::parse(ls[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "hello");
  EXPECT_EQ(nlohmann::json::parse(ls[1])["msg"], "\x1dunterminated");
}

TEST(RateLimitedLogTest, AllowsNPerIntervalAndCountsTheSuppressed) {
  RateLimitedLog limit(3, std::chrono::milliseconds(1000));
  const int64_t ms = 1'000'000;
  uint64_t suppressed = 99;
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limit.allow(5 * ms + i, &suppressed) ? 1 : 0;
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(suppressed, 0u);  // the first three had nothing suppressed before them
  EXPECT_FALSE(limit.allow(900 * ms, &suppressed));
  ASSERT_TRUE(limit.allow(1005 * ms, &suppressed));  // a new interval
  EXPECT_EQ(suppressed, 8u);                         // 7 + the one at 900 ms
  EXPECT_TRUE(limit.allow(1006 * ms, &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(RateLimitedLogTest, ThreadsShareOneBudget) {
  RateLimitedLog limit(5, std::chrono::hours(1));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      uint64_t s = 0;
      for (int i = 0; i < 1000; ++i) allowed += limit.allow(&s) ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 5);
}

TEST_F(LoggingContextTest, RateLimitedMacroWritesAtMostNPerCallSite) {
  ASSERT_TRUE(configure("info", Format::kText));
  auto logger = get("srtp");
  for (int i = 0; i < 50; ++i) {
    MR_LOG_RATE_LIMITED(logger, spdlog::level::warn, 2, 60'000, "auth failed on packet {}", i);
  }
  for (int i = 0; i < 5; ++i) {
    MR_LOG_RATE_LIMITED(logger, spdlog::level::warn, 1, 60'000, "another site");
  }
  const auto ls = lines();
  ASSERT_EQ(ls.size(), 3u) << out_.str();
  EXPECT_NE(ls[0].find("auth failed on packet 0 (0 similar lines suppressed)"), std::string::npos);
  EXPECT_NE(ls[1].find("auth failed on packet 1 (0 similar lines suppressed)"), std::string::npos);
  EXPECT_NE(ls[2].find("another site (0 similar lines suppressed)"), std::string::npos);
}

}  // namespace
}  // namespace medrelay::log
