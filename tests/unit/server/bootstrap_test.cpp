#include "server/bootstrap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>

#include <sstream>

#include "common/logging.h"
#include "server/api_key.h"
#include "tests/support/test_support.h"

namespace medrelay::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

mode_t modeOf(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

std::string firstLine(const std::filesystem::path& p) {
  auto s = test::readFile(p);
  return s.substr(0, s.find('\n'));
}

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::setSink(std::make_shared<spdlog::sinks::ostream_sink_mt>(logs_));
    config_ = Config::defaults();
    config_.storage.data_dir = (dir_.path() / "state" / "data").string();
  }
  void TearDown() override { log::setSink(nullptr); }
  std::filesystem::path data() const { return config_.storage.data_dir; }

  test::TempDir dir_;
  Config config_;
  std::ostringstream logs_;
};

TEST_F(BootstrapTest, FirstStartGeneratesPrivateKeyAndStoresOnlyItsHash) {
  auto report = bootstrapDataDir(config_);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_TRUE(report->api_key_generated);
  EXPECT_EQ(report->api_key_file, (data() / "api-key").string());
  EXPECT_EQ(modeOf(data()), 0700u);
  EXPECT_EQ(modeOf(data() / "api-key"), 0600u);

  std::string key = firstLine(data() / "api-key");
  ASSERT_EQ(key.size(), 4u + 43u);  // "mrk_" + 256 bits in base64url
  EXPECT_EQ(key.rfind("mrk_", 0), 0u);
  EXPECT_EQ(
      key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
      std::string::npos);

  std::string stored = firstLine(data() / "api-key.sha256");
  EXPECT_EQ(stored, sha256Hex(key));
  ASSERT_EQ(config_.api.keys_sha256, std::vector<std::string>{stored});

  // The log names the file, never the key.
  EXPECT_THAT(logs_.str(), HasSubstr((data() / "api-key").string()));
  EXPECT_THAT(logs_.str(), Not(HasSubstr(key)));
  EXPECT_THAT(logs_.str(), Not(HasSubstr(key.substr(4))));

  auto keys = ApiKeySet::fromHexHashes(config_.api.keys_sha256);
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->verify(key));
  EXPECT_FALSE(keys->verify(key + "x"));
  EXPECT_FALSE(keys->verify(key.substr(0, key.size() - 1)));
  EXPECT_FALSE(keys->verify(""));
  EXPECT_FALSE(keys->verify(stored));  // the hash is not a key
}

TEST_F(BootstrapTest, SecondStartReusesTheStoredHashEvenWithoutTheKeyFile) {
  ASSERT_TRUE(bootstrapDataDir(config_).ok());
  std::string key = firstLine(data() / "api-key");
  std::string hash = config_.api.keys_sha256.at(0);
  std::string turn = config_.turn.secrets.at(0);

  // The operator copied the key away and deleted the file.
  std::filesystem::remove(data() / "api-key");
  Config again = Config::defaults();
  again.storage.data_dir = config_.storage.data_dir;
  auto report = bootstrapDataDir(again);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_FALSE(report->api_key_generated);
  EXPECT_FALSE(report->turn_secret_generated);
  EXPECT_EQ(again.api.keys_sha256, std::vector<std::string>{hash});
  EXPECT_EQ(again.turn.secrets, std::vector<std::string>{turn});
  EXPECT_FALSE(std::filesystem::exists(data() / "api-key"));  // not regenerated
  EXPECT_TRUE(ApiKeySet::fromHexHashes(again.api.keys_sha256)->verify(key));
}

TEST_F(BootstrapTest, RecoversWhenTheHashWasNotWrittenYet) {
  std::filesystem::create_directories(data());
  test::writeFile(data() / "api-key", "mrk_existing-key\n");
  auto report = bootstrapDataDir(config_);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->api_key_generated);
  EXPECT_EQ(config_.api.keys_sha256.at(0), sha256Hex("mrk_existing-key"));
  EXPECT_EQ(firstLine(data() / "api-key.sha256"), sha256Hex("mrk_existing-key"));
}

TEST_F(BootstrapTest, ConfiguredHashesAndSecretsLeaveTheDataDirAlone) {
  config_.api.keys_sha256 = {sha256Hex("k1"), sha256Hex("k2")};
  config_.turn.secrets = {"configured-secret-123"};
  auto report = bootstrapDataDir(config_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->api_key_file.empty());
  EXPECT_TRUE(report->turn_secret_file.empty());
  EXPECT_FALSE(std::filesystem::exists(data() / "api-key"));
  EXPECT_FALSE(std::filesystem::exists(data() / "api-key.sha256"));
  EXPECT_FALSE(std::filesystem::exists(data() / "turn-secret"));
  auto keys = ApiKeySet::fromHexHashes(config_.api.keys_sha256);
  EXPECT_TRUE(keys->verify("k1"));
  EXPECT_TRUE(keys->verify("k2"));
  EXPECT_FALSE(keys->verify("k3"));
}

TEST_F(BootstrapTest, TurnSecretGeneratedOncePrivatelyAndNotWhenTurnIsOff) {
  auto report = bootstrapDataDir(config_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->turn_secret_generated);
  EXPECT_EQ(modeOf(data() / "turn-secret"), 0600u);
  ASSERT_EQ(config_.turn.secrets.size(), 1u);
  EXPECT_EQ(config_.turn.secrets[0], firstLine(data() / "turn-secret"));
  EXPECT_EQ(config_.turn.secrets[0].size(), 43u);
  EXPECT_THAT(logs_.str(), Not(HasSubstr(config_.turn.secrets[0])));

  test::TempDir other;
  Config off = Config::defaults();
  off.turn.enabled = false;
  off.storage.data_dir = other.str();
  ASSERT_TRUE(bootstrapDataDir(off).ok());
  EXPECT_TRUE(off.turn.secrets.empty());
  EXPECT_FALSE(std::filesystem::exists(other.path() / "turn-secret"));
}

TEST_F(BootstrapTest, CorruptHashFileIsAnErrorNotASilentRegeneration) {
  std::filesystem::create_directories(data());
  test::writeFile(data() / "api-key.sha256", "not-a-hash\n");
  auto report = bootstrapDataDir(config_);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.error().message, HasSubstr("api-key.sha256"));
}

TEST_F(BootstrapTest, DataDirThatIsAFileIsAnError) {
  std::filesystem::create_directories(data().parent_path());
  test::writeFile(data(), "x");
  EXPECT_FALSE(bootstrapDataDir(config_).ok());
}

TEST(ApiKeyTest, HashesAndGeneratedKeys) {
  // FIPS 180-2 test vector.
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(generateApiKey(), generateApiKey());
  EXPECT_FALSE(ApiKeySet::fromHexHashes({"abc"}).ok());
  auto upper = ApiKeySet::fromHexHashes(
      {"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"});
  ASSERT_TRUE(upper.ok());
  EXPECT_TRUE(upper->verify("abc"));
  EXPECT_FALSE(ApiKeySet::fromHexHashes({})->verify("abc"));
}

}  // namespace
}  // namespace medrelay::server
