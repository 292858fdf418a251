// Starts the real medrelay binary as a child process and checks its command line, start-up,
// signals and data-dir bootstrap.
#include "tests/support/server_process.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "build_info.h"
#include "tests/support/test_support.h"

namespace medrelay::test {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

class ServerProcessTest : public ::testing::Test {
 protected:
  // Arguments for a start that touches only the temp dir.
  std::vector<std::string> startArgs(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--set", "storage.data_dir=" + data(), "--set", "media.workers=2", "--set",
        "http.listen=127.0.0.1:0", "--set", "shutdown.grace_ms=3000", "--set",
        "turn.udp_listen=127.0.0.1:0",  // TURN is on by default: no fixed port
        // Media ports are bound by the media component: ephemeral, tests run in parallel.
        "--set", "media.udp_port=0", "--set", "media.tcp_port=0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::string data() const { return (dir_.path() / "data").string(); }

  TempDir dir_;
};

TEST_F(ServerProcessTest, VersionAndHelp) {
  ServerProcess version(dir_, {"--version"});
  ASSERT_EQ(version.waitExit(milliseconds(10000)), 0);
  EXPECT_THAT(version.output(), HasSubstr(std::string("medrelay ") + kVersion));

  ServerProcess help(dir_, {"--help"});
  ASSERT_EQ(help.waitExit(milliseconds(10000)), 0);
  EXPECT_THAT(help.output(), HasSubstr("--check-config"));
  EXPECT_THAT(help.output(), HasSubstr("hash-key"));

  ServerProcess bad(dir_, {"--no-such-flag"});
  EXPECT_EQ(bad.waitExit(milliseconds(10000)), 2);
}

TEST_F(ServerProcessTest, CheckConfigReportsSettingAndLineForEveryError) {
  std::string file = (dir_.path() / "bad.yaml").string();
  writeFile(file, "http:\n  listen: 127.0.0.1:8080\n  max_connections: [1, 2\n");
  ServerProcess malformed(dir_, {"--check-config", file});
  ASSERT_EQ(malformed.waitExit(milliseconds(10000)), 2);
  EXPECT_THAT(malformed.output(), HasSubstr(file + ":3: http.max_connections: YAML syntax"));

  writeFile(file, "http:\n  listen: 127.0.0.1:99999\n  lisen: x\nmedia:\n  workers: 65\n");
  ServerProcess invalid(dir_, {"--check-config", file});
  ASSERT_EQ(invalid.waitExit(milliseconds(10000)), 2);
  auto out = invalid.output();
  EXPECT_THAT(out, HasSubstr(file + ":2: http.listen: port 99999 is out of range"));
  EXPECT_THAT(out, HasSubstr(file + ":3: http.lisen: unknown setting (did you mean 'listen'?)"));
  EXPECT_THAT(out, HasSubstr(file + ":5: media.workers: must be between 0 and 64"));
  EXPECT_FALSE(std::filesystem::exists(data()));

  ServerProcess example(dir_, {"--check-config", sourceDir() + "/configs/medrelay.yaml"});
  EXPECT_EQ(example.waitExit(milliseconds(10000)), 0) << example.output();
}

TEST_F(ServerProcessTest, InvalidSetStopsTheStartAndNamesTheSetting) {
  ServerProcess p(dir_, startArgs({"--set", "http.listen=127.0.0.1:notaport"}));
  auto rc = p.waitExit(milliseconds(10000));
  EXPECT_EQ(rc, 2);
  EXPECT_THAT(p.output(), HasSubstr("http.listen"));
  EXPECT_THAT(p.output(), HasSubstr("not a number"));
  EXPECT_THAT(p.output(), Not(HasSubstr("medrelay started")));
  EXPECT_FALSE(std::filesystem::exists(data()));  // nothing started, nothing created

  ServerProcess env_typo(dir_, startArgs({"--set", "media.wrokers=2"}));
  EXPECT_EQ(env_typo.waitExit(milliseconds(10000)), 2);
  EXPECT_THAT(env_typo.output(), HasSubstr("did you mean 'media.workers'"));
}

TEST_F(ServerProcessTest, SigtermDrainsAndExitsZeroWithinTheGrace) {
  ServerProcess p(dir_, startArgs());
  ASSERT_TRUE(p.waitForOutput("medrelay started")) << p.output();
  auto t0 = std::chrono::steady_clock::now();
  p.signal(SIGTERM);
  auto rc = p.waitExit(milliseconds(3000 + 2000));
  ASSERT_TRUE(rc.has_value()) << "still running after the grace:\n" << p.output();
  EXPECT_EQ(*rc, 0) << p.output();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(3000));
  EXPECT_THAT(p.output(), HasSubstr("SIGTERM: draining"));
  EXPECT_THAT(p.output(), HasSubstr("shutdown complete"));
}

TEST_F(ServerProcessTest, SigintAlsoDrains) {
  ServerProcess p(dir_, startArgs());
  ASSERT_TRUE(p.waitForOutput("medrelay started")) << p.output();
  p.signal(SIGINT);
  EXPECT_EQ(p.waitExit(milliseconds(5000)), 0) << p.output();
}

TEST_F(ServerProcessTest, SighupReloadsWithoutKillingTheProcess) {
  ServerProcess p(dir_, startArgs());
  ASSERT_TRUE(p.waitForOutput("medrelay started")) << p.output();
  p.signal(SIGHUP);
  ASSERT_TRUE(p.waitForOutput("SIGHUP: reloading")) << p.output();
  p.signal(SIGHUP);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(p.running()) << p.output();
  p.signal(SIGTERM);
  EXPECT_EQ(p.waitExit(milliseconds(5000)), 0) << p.output();
}

TEST_F(ServerProcessTest, ApiKeyFileIsPrivateItsPathIsLoggedAndTheKeyIsNot) {
  std::string key_path = data() + "/api-key";
  std::string first_output;
  {
    ServerProcess p(dir_, startArgs());
    ASSERT_TRUE(p.waitForOutput("medrelay started")) << p.output();
    p.signal(SIGTERM);
    ASSERT_EQ(p.waitExit(milliseconds(5000)), 0);
    first_output = p.output();
  }
  struct stat st {};
  ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(data().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::string key = readFile(key_path);
  key = key.substr(0, key.find('\n'));
  ASSERT_GE(key.size(), 40u);
  EXPECT_THAT(first_output, HasSubstr(key_path));
  EXPECT_THAT(first_output, Not(HasSubstr(key)));
  EXPECT_THAT(readFile(data() + "/api-key.sha256"), Not(HasSubstr(key)));

  // The operator's tool: hash-key prints the stored hash for the same key.
  ServerProcess hash(dir_, {"hash-key"}, key + "\n");
  ASSERT_EQ(hash.waitExit(milliseconds(5000)), 0);
  EXPECT_EQ(hash.output(), readFile(data() + "/api-key.sha256"));

  // A second start reuses the stored hash and leaves the key alone.
  ServerProcess again(dir_, startArgs());
  ASSERT_TRUE(again.waitForOutput("medrelay started")) << again.output();
  again.signal(SIGTERM);
  ASSERT_EQ(again.waitExit(milliseconds(5000)), 0);
  EXPECT_THAT(again.output(), HasSubstr("using the stored hash"));
  EXPECT_THAT(again.output(), HasSubstr(key_path));
  EXPECT_THAT(again.output(), Not(HasSubstr("generated a new key")));
  EXPECT_EQ(readFile(key_path).substr(0, key.size()), key);
}

TEST_F(ServerProcessTest, JsonLogFormatWritesOneObjectPerLine) {
  ServerProcess p(dir_, startArgs({"--set", "log.format=json"}));
  ASSERT_TRUE(p.waitForOutput("medrelay started")) << p.output();
  p.signal(SIGTERM);
  ASSERT_EQ(p.waitExit(milliseconds(5000)), 0);
  std::istringstream in(p.output());
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("component") &&
                j.contains("msg"))
        << line;
    ++lines;
  }
  EXPECT_GE(lines, 5);
}

TEST_F(ServerProcessTest, PrintConfigShowsEffectiveValuesWithSecretsRedacted) {
  ServerProcess p(dir_, {"--set", "turn.secrets=very-secret-value-123456", "--set",
                         "http.listen=127.0.0.1:9999", "--print-config"});
  ASSERT_EQ(p.waitExit(milliseconds(5000)), 0);
  EXPECT_THAT(p.output(), HasSubstr("listen: \"127.0.0.1:9999\""));
  EXPECT_THAT(p.output(), Not(HasSubstr("very-secret-value")));
}

}  // namespace
}  // namespace medrelay::test
