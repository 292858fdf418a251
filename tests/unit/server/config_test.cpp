#include "server/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "server/config_validate.h"
#include "tests/support/test_support.h"

namespace medrelay::server {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigLoad loadYaml(const std::string& yaml, ConfigSources sources = {}) {
    test::writeFile(file(), yaml);
    sources.file = file();
    return loadConfig(sources);
  }
  std::string file() const { return (dir_.path() / "medrelay.yaml").string(); }

  // The single error for `setting`, failing the test if there is not exactly one.
  static ConfigError errorFor(const ConfigLoad& load, const std::string& setting) {
    std::vector<ConfigError> found;
    for (const auto& e : load.errors) {
      if (e.setting == setting) found.push_back(e);
    }
    EXPECT_EQ(found.size(), 1u) << "errors for " << setting << ": " << dump(load);
    return found.empty() ? ConfigError{} : found[0];
  }
  static std::string dump(const ConfigLoad& load) {
    std::string s;
    for (const auto& e : load.errors) s += e.toString() + "\n";
    return s;
  }

  test::TempDir dir_;
};

TEST_F(ConfigTest, DefaultsWithoutAnySource) {
  auto load = loadConfig({});
  ASSERT_TRUE(load.ok()) << dump(load);
  const auto& c = load.config;
  EXPECT_FALSE(c.node.id.empty());
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  EXPECT_TRUE(c.http.tls_cert.empty());
  EXPECT_EQ(c.media.listen_ip, "127.0.0.1");
  EXPECT_EQ(c.media.udp_port, 40000);
  EXPECT_EQ(c.media.tcp_port, 40000);
  EXPECT_EQ(c.media.workers, 0u);
  EXPECT_GE(c.effectiveWorkers(), 1u);
  EXPECT_TRUE(c.turn.enabled);
  EXPECT_EQ(c.turn.udp_listen, "127.0.0.1:3478");
  EXPECT_EQ(c.turn.realm, "medrelay");
  EXPECT_TRUE(c.turn.secrets.empty());
  EXPECT_EQ(c.storage.data_dir, "./medrelay-data");
  EXPECT_EQ(c.access_log.dir, "./medrelay-data/access-log");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
  EXPECT_EQ(c.shutdown.grace_ms, 10000u);
  EXPECT_TRUE(load.origins.empty());
}

TEST_F(ConfigTest, YamlOverridesDefaults) {
  auto load = loadYaml(R"(
node:
  id: relay-7
http:
  listen: "[::1]:9443"
  max_connections: 50
  cors_origins: ["https://a.example", "http://b.example:8080"]
media:
  workers: 3
  announced_ip: 203.0.113.5
turn:
  enabled: no
  deny_peers: [10.0.0.0/8, "fd00::/8"]
storage:
  data_dir: /srv/relay
log:
  format: json
)");
  ASSERT_TRUE(load.ok()) << dump(load);
  const auto& c = load.config;
  EXPECT_EQ(c.node.id, "relay-7");
  EXPECT_EQ(c.http.listen, "[::1]:9443");
  EXPECT_EQ(c.http.max_connections, 50u);
  EXPECT_THAT(c.http.cors_origins,
              ::testing::ElementsAre("https://a.example", "http://b.example:8080"));
  EXPECT_EQ(c.media.workers, 3u);
  EXPECT_EQ(c.effectiveWorkers(), 3u);
  EXPECT_EQ(c.media.announced_ip, "203.0.113.5");
  EXPECT_FALSE(c.turn.enabled);
  EXPECT_THAT(c.turn.deny_peers, ::testing::ElementsAre("10.0.0.0/8", "fd00::/8"));
  EXPECT_EQ(c.access_log.dir, "/srv/relay/access-log");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(load.origins.at("http.listen").line, 5);
  EXPECT_EQ(load.origins.at("http.listen").where, file());
}

TEST_F(ConfigTest, EnvironmentOverridesFileAndIgnoresOtherVariables) {
  ConfigSources s;
  s.environment = {"PATH=/bin", "MEDRELAY_HTTP__LISTEN=127.0.0.1:9000",
                   "MEDRELAY_ACCESS_LOG__ROTATE_DAILY=false",
                   "MEDRELAY_TURN__SECRETS=aaaaaaaaaaaaaaaa1, bbbbbbbbbbbbbbbb2",
                   "MEDRELAY_SOMETHING=else"};
  auto load = loadYaml("http:\n  listen: 127.0.0.1:7000\n  max_connections: 5\n", s);
  ASSERT_TRUE(load.ok()) << dump(load);
  EXPECT_EQ(load.config.http.listen, "127.0.0.1:9000");
  EXPECT_EQ(load.config.http.max_connections, 5u);  // from the file
  EXPECT_FALSE(load.config.access_log.rotate_daily);
  EXPECT_THAT(load.config.turn.secrets,
              ::testing::ElementsAre("aaaaaaaaaaaaaaaa1", "bbbbbbbbbbbbbbbb2"));
  EXPECT_EQ(load.origins.at("http.listen").source, ConfigOrigin::Source::kEnv);
}

TEST_F(ConfigTest, SetFlagsWinOverEnvironmentAndFileAndApplyInOrder) {
  ConfigSources s;
  s.environment = {"MEDRELAY_HTTP__LISTEN=127.0.0.1:9000", "MEDRELAY_MEDIA__WORKERS=2"};
  s.overrides = {"http.listen=127.0.0.1:9100", "media.workers=4", "media.workers=5",
                 "http.cors_origins=[\"https://x.example\"]", "log.level=debug"};
  auto load = loadYaml("http:\n  listen: 127.0.0.1:7000\nlog:\n  level: warn\n", s);
  ASSERT_TRUE(load.ok()) << dump(load);
  EXPECT_EQ(load.config.http.listen, "127.0.0.1:9100");
  EXPECT_EQ(load.config.media.workers, 5u);  // the last --set wins
  EXPECT_THAT(load.config.http.cors_origins, ::testing::ElementsAre("https://x.example"));
  EXPECT_EQ(load.config.log.level, "debug");
  EXPECT_EQ(load.origins.at("media.workers").source, ConfigOrigin::Source::kFlag);
}

TEST_F(ConfigTest, MalformedYamlNamesLineAndNearestSetting) {
  auto load =
      loadYaml("http:\n  listen: 127.0.0.1:8080\n  max_connections: [1, 2\nlog:\n  level: x\n");
  ASSERT_EQ(load.errors.size(), 1u) << dump(load);
  const auto& e = load.errors[0];
  EXPECT_EQ(e.file, file());
  EXPECT_GE(e.line, 3);
  EXPECT_LE(e.line, 4);
  EXPECT_EQ(e.setting, "http.max_connections");
  EXPECT_THAT(e.toString(), HasSubstr("YAML syntax error"));
  EXPECT_THAT(e.toString(), HasSubstr(file() + ":" + std::to_string(e.line) + ": "));
}

TEST_F(ConfigTest, UnknownKeysAreErrorsWithHints) {
  auto load = loadYaml("http:\n  lisen: 127.0.0.1:80\nhtp:\n  listen: x\nmedia:\n  zzzzzz: 1\n");
  auto e = errorFor(load, "http.lisen");
  EXPECT_EQ(e.line, 2);
  EXPECT_THAT(e.message, HasSubstr("did you mean 'listen'"));
  e = errorFor(load, "htp");
  EXPECT_EQ(e.line, 3);
  EXPECT_THAT(e.message, HasSubstr("did you mean 'http'"));
  e = errorFor(load, "media.zzzzzz");
  EXPECT_THAT(e.message, ::testing::Not(HasSubstr("did you mean")));

  ConfigSources s;
  s.overrides = {"http.listn=1", "nonsense"};
  s.environment = {"MEDRELAY_HTTP__LISTN=1"};
  s.overrides.push_back("turn.secrets=tooshort");
  auto load2 = loadConfig(s);
  ASSERT_EQ(load2.errors.size(), 4u) << dump(load2);
  EXPECT_EQ(load2.errors[3].toString(),
            "--set turn.secrets=<redacted>: turn.secrets: each secret must be at least 16 "
            "characters");
  load2.errors.pop_back();
  ASSERT_EQ(load2.errors.size(), 3u) << dump(load2);
  EXPECT_EQ(load2.errors[0].origin, "MEDRELAY_HTTP__LISTN");
  EXPECT_THAT(load2.errors[0].toString(),
              HasSubstr("MEDRELAY_HTTP__LISTN: http.listn: unknown setting (did you mean "
                        "'http.listen'?)"));
  EXPECT_THAT(load2.errors[1].toString(), HasSubstr("--set http.listn=1: http.listn"));
  EXPECT_THAT(load2.errors[2].toString(), HasSubstr("nonsense: expected --set"));
}

TEST_F(ConfigTest, WrongTypesNameSettingAndLine) {
  auto load = loadYaml(R"(http:
  max_connections: lots
  cors_origins: https://a.example
  listen: [a, b]
turn:
  enabled: maybe
media:
  udp_port: 70000
  workers: 65
  tcp_port: -1
)");
  EXPECT_THAT(errorFor(load, "http.max_connections").message, HasSubstr("unsigned integer"));
  EXPECT_EQ(errorFor(load, "http.max_connections").line, 2);
  EXPECT_THAT(errorFor(load, "http.cors_origins").message, HasSubstr("expected a list"));
  EXPECT_THAT(errorFor(load, "http.listen").message, HasSubstr("expected a string"));
  EXPECT_THAT(errorFor(load, "turn.enabled").message, HasSubstr("true or false"));
  EXPECT_EQ(errorFor(load, "turn.enabled").line, 6);
  EXPECT_THAT(errorFor(load, "media.udp_port").message, HasSubstr("between 0 and 65535"));
  EXPECT_EQ(errorFor(load, "media.udp_port").line, 8);
  EXPECT_THAT(errorFor(load, "media.workers").message, HasSubstr("between 0 and 64"));
  EXPECT_THAT(errorFor(load, "media.tcp_port").message, HasSubstr("unsigned integer"));
  EXPECT_EQ(load.errors.size(), 7u) << dump(load);
}

TEST_F(ConfigTest, SemanticErrorsPointAtTheLineThatSetTheValue) {
  auto load = loadYaml(R"(http:
  listen: 127.0.0.1:99999
  tls_cert: /nonexistent/cert.pem
media:
  listen_ip: not-an-ip
  announced_ip: 0.0.0.0
turn:
  allow_peers: [10.0.0.0/33, 192.168.0.0/16]
  deny_peers: [banana]
  realm: "has space"
  secrets: [short]
log:
  level: loud
  format: xml
api:
  keys_sha256: [abc]
node:
  id: "bad id!"
)");
  auto listen = errorFor(load, "http.listen");
  EXPECT_EQ(listen.line, 2);
  EXPECT_THAT(listen.message, HasSubstr("out of range"));
  EXPECT_EQ(listen.toString(), file() + ":2: http.listen: " + listen.message);
  // The cert both lacks its key and does not exist: two errors for one setting.
  int cert_errors = 0;
  for (const auto& e : load.errors) {
    if (e.setting == "http.tls_cert") {
      ++cert_errors;
      EXPECT_EQ(e.line, 3);
    }
  }
  EXPECT_EQ(cert_errors, 2) << dump(load);
  EXPECT_EQ(errorFor(load, "media.listen_ip").line, 5);
  EXPECT_EQ(errorFor(load, "media.announced_ip").line, 6);
  EXPECT_THAT(errorFor(load, "turn.allow_peers").message, HasSubstr("prefix length"));
  EXPECT_EQ(errorFor(load, "turn.deny_peers").line, 9);
  EXPECT_EQ(errorFor(load, "turn.realm").line, 10);
  EXPECT_EQ(errorFor(load, "turn.secrets").line, 11);
  EXPECT_THAT(errorFor(load, "turn.secrets").message, ::testing::Not(HasSubstr("short")));
  EXPECT_EQ(errorFor(load, "log.level").line, 13);
  EXPECT_EQ(errorFor(load, "log.format").line, 14);
  EXPECT_EQ(errorFor(load, "api.keys_sha256").line, 16);
  EXPECT_EQ(errorFor(load, "node.id").line, 18);
  EXPECT_EQ(load.errors.size(), 13u) << dump(load);
}

TEST_F(ConfigTest, TlsKeyWithoutCertAndExistingFiles) {
  test::writeFile(dir_.path() / "cert.pem", "x");
  test::writeFile(dir_.path() / "key.pem", "x");
  ConfigSources s;
  s.overrides = {"http.tls_key=" + (dir_.path() / "key.pem").string()};
  auto load = loadConfig(s);
  auto e = errorFor(load, "http.tls_key");
  EXPECT_THAT(e.message, HasSubstr("without http.tls_cert"));
  EXPECT_EQ(e.origin, "--set " + s.overrides[0]);

  s.overrides.push_back("http.tls_cert=" + (dir_.path() / "cert.pem").string());
  s.overrides.emplace_back("turn.tls_listen=127.0.0.1:5349");
  EXPECT_TRUE(loadConfig(s).ok()) << dump(loadConfig(s));
}

TEST_F(ConfigTest, CrossSettingChecks) {
  ConfigSources s;
  s.overrides = {"media.udp_port=65534", "media.workers=4", "turn.tls_listen=127.0.0.1:443",
                 "turn.udp_listen=", "turn.tcp_listen=127.0.0.1:8080"};
  auto load = loadConfig(s);
  EXPECT_THAT(errorFor(load, "media.udp_port").message, HasSubstr("exceeds 65535"));
  EXPECT_THAT(errorFor(load, "turn.tls_listen").message, HasSubstr("needs a certificate"));
  EXPECT_THAT(errorFor(load, "turn.tcp_listen").message, HasSubstr("same address as http.listen"));
  EXPECT_EQ(load.errors.size(), 3u) << dump(load);

  ConfigSources none;
  none.overrides = {"turn.udp_listen="};
  EXPECT_THAT(errorFor(loadConfig(none), "turn.enabled").message, HasSubstr("none of"));
  none.overrides.emplace_back("turn.enabled=false");
  EXPECT_TRUE(loadConfig(none).ok());
}

TEST_F(ConfigTest, AllErrorsAreReportedAtOnce) {
  ConfigSources s;
  s.environment = {"MEDRELAY_LOG__LEVEL=shout"};
  s.overrides = {"shutdown.grace_ms=abc"};
  auto load = loadYaml("http:\n  listen: nope\n  bogus: 1\nmedia:\n  workers: 100\n", s);
  std::set<std::string> settings;
  for (const auto& e : load.errors) settings.insert(e.setting);
  EXPECT_EQ(settings, (std::set<std::string>{"http.listen", "http.bogus", "media.workers",
                                             "log.level", "shutdown.grace_ms"}))
      << dump(load);
}

TEST_F(ConfigTest, AddressAndCidrParsing) {
  EXPECT_EQ(checkHostPort("0.0.0.0:0"), "");
  EXPECT_EQ(checkHostPort("[2001:db8::1]:443"), "");
  EXPECT_NE(checkHostPort("::1:443"), "");
  EXPECT_NE(checkHostPort("localhost:80"), "");
  EXPECT_NE(checkHostPort("1.2.3.4"), "");
  EXPECT_NE(checkHostPort("1.2.3.4:"), "");
  EXPECT_NE(checkHostPort("[::1]443"), "");
  EXPECT_EQ(checkCidr("10.0.0.0/8"), "");
  EXPECT_EQ(checkCidr("2001:db8::/32"), "");
  EXPECT_EQ(checkCidr("192.0.2.1"), "");
  EXPECT_NE(checkCidr("2001:db8::/129"), "");
  EXPECT_NE(checkCidr("10.0.0.0/"), "");
  EXPECT_NE(checkCidr("10.0.0/8"), "");
}

TEST_F(ConfigTest, WebhookSettingsNameTheBadOne) {
  const std::string secret = (dir_.path() / "hook.secret").string();
  test::writeFile(secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
  const std::string bad_secret = (dir_.path() / "bad.secret").string();
  test::writeFile(bad_secret, "not-a-secret\n");
  {
    auto load = loadYaml(
        "webhooks:\n  urls: [\"https://hooks.example/medrelay\", "
        "\"https://[2001:db8::1]:8443/h\"]\n  secret_files: [" +
        secret + ", " + secret + "]\n  events: [participant_joined]\n");
    EXPECT_TRUE(load.ok()) << dump(load);
  }
  {
    ConfigSources s;
    s.overrides = {"webhooks.urls=http://plain.example/h", "webhooks.secret_files=" + secret};
    auto load = loadConfig(s);
    EXPECT_THAT(errorFor(load, "webhooks.urls").message, HasSubstr("not an https:// URL"));
  }
  for (const char* url : {"https://", "https://user:pw@h.example/", "https://h.example:99999/",
                          "https://h.example/a b", "https://[::1/h", "https://h.example:/"}) {
    ConfigSources s;
    s.overrides = {std::string("webhooks.urls=") + url, "webhooks.secret_files=" + secret};
    auto load = loadConfig(s);
    EXPECT_FALSE(errorFor(load, "webhooks.urls").message.empty()) << url;
  }
  {
    ConfigSources s;
    s.overrides = {"webhooks.urls=https://h.example/"};
    auto load = loadConfig(s);
    EXPECT_THAT(errorFor(load, "webhooks.secret_files").message,
                HasSubstr("one secret file per URL"));
  }
  {
    ConfigSources s;
    s.overrides = {"webhooks.urls=https://h.example/", "webhooks.secret_files=" + bad_secret};
    auto load = loadConfig(s);
    const auto e = errorFor(load, "webhooks.secret_files");
    EXPECT_THAT(e.message, HasSubstr("bad.secret: line 1"));
    EXPECT_THAT(e.message, ::testing::Not(HasSubstr("not-a-secret")));
  }
  {
    ConfigSources s;
    s.overrides = {"webhooks.urls=https://h.example/",
                   "webhooks.secret_files=" + (dir_.path() / "missing").string()};
    auto load = loadConfig(s);
    EXPECT_THAT(errorFor(load, "webhooks.secret_files").message, HasSubstr("cannot read"));
  }
  {
    ConfigSources s;
    s.overrides = {"webhooks.events=participant_joined,particpant_left", "webhooks.format=xml",
                   "webhooks.ca_file=/nonexistent/ca.pem", "webhooks.backoff_initial_ms=5000",
                   "webhooks.backoff_max_ms=1000"};
    auto load = loadConfig(s);
    EXPECT_THAT(errorFor(load, "webhooks.events").message, HasSubstr("particpant_left"));
    EXPECT_THAT(errorFor(load, "webhooks.format").message, HasSubstr("json|fhir"));
    EXPECT_THAT(errorFor(load, "webhooks.ca_file").message, HasSubstr("does not exist"));
    EXPECT_FALSE(errorFor(load, "webhooks.backoff_initial_ms").message.empty());
  }
}

// The documented example must stay equal to the embedded defaults and mention every setting.
TEST_F(ConfigTest, ExampleConfigEqualsDefaultsAndListsEverySetting) {
  std::string path = test::sourceDir() + "/configs/medrelay.yaml";
  ConfigSources s;
  s.file = path;
  auto example = loadConfig(s);
  ASSERT_TRUE(example.ok()) << dump(example);
  auto defaults = loadConfig({});
  EXPECT_TRUE(example.config == defaults.config) << example.config.toYaml() << "\nvs\n"
                                                 << defaults.config.toYaml();

  // Every setting appears, set or commented out ("# key:"), under its section.
  std::istringstream in(test::readFile(path));
  std::set<std::string> mentioned;
  std::regex section_re(R"(^([a-z_]+):\s*(#.*)?$)");
  std::regex key_re(R"(^\s+#?\s*([a-z_0-9]+):\s.*#\s*\S.*$)");  // with a one-line comment
  std::string section;
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, section_re)) {
      section = m[1];
    } else if (std::regex_match(line, m, key_re) && !section.empty()) {
      mentioned.insert(section + "." + m[1].str());
    }
  }
  for (const auto& key : settingKeys()) EXPECT_TRUE(mentioned.count(key)) << key;
  EXPECT_EQ(mentioned.size(), settingKeys().size());
}

TEST_F(ConfigTest, PrintedConfigLoadsBackToTheSameValuesAndRedactsSecrets) {
  ConfigSources s;
  s.overrides = {"turn.secrets=topsecretvalue-0123456789", "http.cors_origins=https://a.example",
                 "media.workers=2", "access_log.rotate_daily=false", "node.id=n1"};
  auto load = loadConfig(s);
  ASSERT_TRUE(load.ok()) << dump(load);
  std::string yaml = load.config.toYaml();
  EXPECT_THAT(yaml, ::testing::Not(HasSubstr("topsecretvalue")));
  EXPECT_THAT(yaml, HasSubstr("<redacted>"));

  auto back = loadYaml(yaml);
  // The redacted secret is too short to be valid and is the only difference.
  ASSERT_EQ(back.errors.size(), 1u) << dump(back);
  EXPECT_EQ(back.errors[0].setting, "turn.secrets");
  back.config.turn.secrets = load.config.turn.secrets;
  EXPECT_TRUE(back.config == load.config) << yaml;
}

TEST_F(ConfigTest, UnreadableFileAndEmptyFile) {
  ConfigSources s;
  s.file = (dir_.path() / "missing.yaml").string();
  auto load = loadConfig(s);
  ASSERT_EQ(load.errors.size(), 1u);
  EXPECT_THAT(load.errors[0].toString(), HasSubstr("missing.yaml: cannot read"));
  EXPECT_TRUE(loadYaml("").ok());
  EXPECT_TRUE(loadYaml("# only a comment\n").ok());
  auto list = loadYaml("- a\n- b\n");
  ASSERT_EQ(list.errors.size(), 1u);
  EXPECT_THAT(list.errors[0].message, HasSubstr("mapping of sections"));
}

}  // namespace
}  // namespace medrelay::server
