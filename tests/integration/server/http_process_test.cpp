// The real medrelay binary serving HTTP and HTTPS: ops endpoints, TLS version floor checked with
// an independent client (the openssl CLI), and SIGHUP certificate reload.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <string>

#include "tests/support/server_process.h"
#include "tests/support/test_support.h"

namespace medrelay::test {
namespace {

using ::testing::HasSubstr;

// One HTTP/1.1 request over a fresh plain TCP connection; returns the raw response.
std::string httpGet(uint16_t port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  (void)::send(fd, req.data(), req.size(), 0);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// Runs a shell command, returns its combined output and sets rc.
std::string run(const std::string& cmd, int& rc) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

void makeCert(const TempDir& dir, const std::string& cn) {
  int rc = 0;
  std::string out =
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
          "-days 2 -subj /CN=" +
              cn + " -keyout " + dir.str() + "/key.pem -out " + dir.str() + "/cert.pem",
          rc);
  ASSERT_EQ(rc, 0) << out;
}

std::string sClient(uint16_t port, const std::string& extra, int& rc) {
  return run(
      "echo | timeout 10 openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + extra,
      rc);
}

class HttpProcessTest : public ::testing::Test {
 protected:
  std::vector<std::string> args(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"--set", "storage.data_dir=" + dir_.str() + "/data",
                                  "--set", "http.listen=127.0.0.1:0",
                                  "--set", "media.workers=1",
                                  "--set", "media.udp_port=0",  // tests run in parallel
                                  "--set", "media.tcp_port=0",
                                  "--set", "turn.enabled=false",
                                  "--set", "shutdown.grace_ms=3000"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  TempDir dir_;
};

TEST_F(HttpProcessTest, HealthAndReadinessAnswerOnTheConfiguredListener) {
  ServerProcess server(dir_, args());
  uint16_t port = waitForHttpPort(server);
  ASSERT_NE(port, 0) << server.output();

  std::string health = httpGet(port, "/healthz");
  EXPECT_THAT(health, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(health, HasSubstr(R"({"status":"ok"})"));
  std::string ready = httpGet(port, "/readyz");
  EXPECT_THAT(ready, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(ready, HasSubstr(R"("ready")"));
  std::string missing = httpGet(port, "/v0/nothing");
  EXPECT_THAT(missing, HasSubstr("HTTP/1.1 404"));
  EXPECT_THAT(missing, HasSubstr(R"("code":"not_found")"));

  server.signal(SIGTERM);
  EXPECT_EQ(server.waitExit(milliseconds(10000)), 0) << server.output();
}

TEST_F(HttpProcessTest, TlsListenerRefusesTls11AndReloadsItsCertificateOnSighup) {
  TempDir certs;
  makeCert(certs, "first.medrelay.test");
  ServerProcess server(dir_, args({"--set", "http.tls_cert=" + certs.str() + "/cert.pem", "--set",
                                   "http.tls_key=" + certs.str() + "/key.pem"}));
  uint16_t port = waitForHttpPort(server);
  ASSERT_NE(port, 0) << server.output();

  int rc = 0;
  // The client is allowed to offer TLS 1.1 (security level 0); the server must refuse it.
  std::string old_proto = sClient(port, "-tls1_1 -cipher DEFAULT@SECLEVEL=0", rc);
  EXPECT_NE(rc, 0) << old_proto;
  EXPECT_THAT(old_proto, HasSubstr("alert protocol version"));

  std::string tls12 = sClient(port, "-tls1_2", rc);
  EXPECT_EQ(rc, 0) << tls12;
  EXPECT_THAT(tls12, HasSubstr("CN = first.medrelay.test"));
  EXPECT_THAT(tls12, HasSubstr("Protocol  : TLSv1.2"));
  std::string tls13 = sClient(port, "-tls1_3", rc);
  EXPECT_EQ(rc, 0) << tls13;
  EXPECT_THAT(tls13, HasSubstr("New, TLSv1.3"));

  std::string health = run("curl -sk https://127.0.0.1:" + std::to_string(port) + "/healthz", rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(health, R"({"status":"ok"})");

  // Replace the certificate and send SIGHUP: new handshakes present the new one, the process
  // keeps running.
  makeCert(certs, "second.medrelay.test");
  server.signal(SIGHUP);
  ASSERT_TRUE(server.waitForOutput("TLS certificate reloaded")) << server.output();
  std::string after = sClient(port, "-tls1_2", rc);
  EXPECT_EQ(rc, 0) << after;
  EXPECT_THAT(after, HasSubstr("CN = second.medrelay.test"));
  EXPECT_TRUE(server.running());

  server.signal(SIGTERM);
  EXPECT_EQ(server.waitExit(milliseconds(10000)), 0) << server.output();
}

TEST_F(HttpProcessTest, AuditSubcommandVerifiesAnAccessLogDirectory) {
  ServerProcess missing(
      dir_, {"audit", "verify", dir_.str() + "/no-such-dir", "--key", dir_.str() + "/no-key"});
  auto code = missing.waitExit(milliseconds(10000));
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0) << missing.output();
}

}  // namespace
}  // namespace medrelay::test
