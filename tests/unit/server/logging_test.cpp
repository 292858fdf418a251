#include "common/logging.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

namespace medrelay::log {
namespace {

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    setSink(sink_);
  }
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
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST_F(LoggingTest, JsonLinesAreValidJsonWithEscapedMessage) {
  ASSERT_TRUE(configure("debug", Format::kJson));
  auto logger = get("testcomp");
  std::string tricky = "say \"hi\"\nsecond line\\ tab\t ctrl\x01 utf8 \xc3\xa9 bad \xff end";
  MR_LOG_INFO(logger, "{}", tricky);
  MR_LOG_DEBUG(logger, "plain");
  MR_LOG_TRACE(logger, "filtered out");

  auto ls = lines();
  ASSERT_EQ(ls.size(), 2u) << out_.str();
  auto j = nlohmann::json::parse(ls[0]);
  EXPECT_EQ(j.size(), 4u);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["component"], "testcomp");
  EXPECT_EQ(j["msg"],
            "say \"hi\"\nsecond line\\ tab\t ctrl\x01 utf8 \xc3\xa9 bad \xef\xbf\xbd end");
  std::regex ts(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  EXPECT_TRUE(std::regex_match(j["ts"].get<std::string>(), ts)) << j["ts"];
  EXPECT_EQ(nlohmann::json::parse(ls[1])["level"], "debug");
}

TEST_F(LoggingTest, LoggerCreatedBeforeConfigureFollowsIt) {
  auto logger = get("early");
  ASSERT_TRUE(configure("warn", Format::kJson));
  MR_LOG_INFO(logger, "hidden");
  MR_LOG_WARN(logger, "shown");
  auto ls = lines();
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(ls[0])["msg"], "shown");
  EXPECT_EQ(nlohmann::json::parse(ls[0])["level"], "warn");
}

TEST_F(LoggingTest, TextFormatHasTimestampLevelAndComponent) {
  ASSERT_TRUE(configure("info", Format::kText));
  MR_LOG_ERROR(get("http"), "boom {}", 42);
  auto ls = lines();
  ASSERT_EQ(ls.size(), 1u);
  std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z error \[http\] boom 42)");
  EXPECT_TRUE(std::regex_match(ls[0], line)) << ls[0];
}

TEST_F(LoggingTest, UnknownLevelIsRejectedAndChangesNothing) {
  ASSERT_TRUE(configure("error", Format::kText));
  EXPECT_FALSE(configure("verbose", Format::kJson));
  MR_LOG_WARN(get("x"), "below error");
  EXPECT_TRUE(out_.str().empty());
  EXPECT_TRUE(parseLevel("off").has_value());
  EXPECT_FALSE(parseFormat("xml").has_value());
}

}  // namespace
}  // namespace medrelay::log
