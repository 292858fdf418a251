#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include "net/http/http_server.h"
#include "net/http/route_table.h"
#include "net/tls/tls_context.h"
#include "tests/integration/net/http_test_client.h"
#include "tests/support/test_support.h"

namespace medrelay::net::http {
namespace {

using namespace std::chrono_literals;

// A self-signed P-256 certificate made with the OpenSSL API at test time.
void writeCert(const std::filesystem::path& certFile, const std::filesystem::path& keyFile,
               const std::string& cn, long serial) {
  CPtr<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
  ASSERT_TRUE(key);
  CPtr<X509, X509_free> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  ASSERT_GT(X509_sign(x.get(), key.get(), EVP_sha256()), 0);
  CPtr<BIO, BIO_free_all> certBio(BIO_new(BIO_s_mem()));
  CPtr<BIO, BIO_free_all> keyBio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(certBio.get(), x.get());
  PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  auto drain = [](BIO* b) {
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    return std::string(p, static_cast<size_t>(n));
  };
  // Replace atomically, the way an operator's cert renewal would.
  medrelay::test::writeFile(certFile.string() + ".tmp", drain(certBio.get()));
  medrelay::test::writeFile(keyFile.string() + ".tmp", drain(keyBio.get()));
  std::filesystem::rename(certFile.string() + ".tmp", certFile);
  std::filesystem::rename(keyFile.string() + ".tmp", keyFile);
}

// Blocking TLS client over a loopback socket.
class TlsClient {
 public:
  TlsClient(uint16_t port, int minVersion, int maxVersion) : tcp_(port) {
    timeval tv{3, 0};
    setsockopt(tcp_.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_min_proto_version(ctx_.get(), minVersion);
    SSL_CTX_set_max_proto_version(ctx_.get(), maxVersion);
    if (maxVersion < TLS1_2_VERSION) {
      // Let this client really offer the old versions, so the refusal is the server's.
      SSL_CTX_set_security_level(ctx_.get(), 0);
      SSL_CTX_set_cipher_list(ctx_.get(), "DEFAULT:@SECLEVEL=0");
    }
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), tcp_.fd());
  }

  bool handshake() {
    ERR_clear_error();
    if (SSL_connect(ssl_.get()) == 1) return true;
    error_ = drainSslErrors("SSL_connect");
    return false;
  }
  const std::string& error() const { return error_; }
  int version() const { return SSL_version(ssl_.get()); }

  long peerSerial() const {
    CPtr<X509, X509_free> cert(SSL_get1_peer_certificate(ssl_.get()));
    return cert ? ASN1_INTEGER_get(X509_get0_serialNumber(cert.get())) : -1;
  }
  std::string peerCn() const {
    CPtr<X509, X509_free> cert(SSL_get1_peer_certificate(ssl_.get()));
    if (!cert) return {};
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf, sizeof(buf));
    return buf;
  }

  // One GET; returns the body of a 200, or "" on any failure.
  std::string get(const std::string& path) {
    std::string req = test::get(path);
    if (SSL_write(ssl_.get(), req.data(), static_cast<int>(req.size())) <= 0) return {};
    std::string buf;
    size_t headEnd;
    while ((headEnd = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!readMore(buf)) return {};
    }
    size_t cl = buf.find("Content-Length: ");
    if (cl == std::string::npos || buf.compare(0, 12, "HTTP/1.1 200") != 0) return {};
    size_t len = std::stoul(buf.substr(cl + 16));
    while (buf.size() < headEnd + 4 + len) {
      if (!readMore(buf)) return {};
    }
    return buf.substr(headEnd + 4, len);
  }

 private:
  bool readMore(std::string& buf) {
    char tmp[4096];
    int n = SSL_read(ssl_.get(), tmp, sizeof(tmp));
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
    return true;
  }

  test::TestClient tcp_;
  CPtr<SSL_CTX, SSL_CTX_free> ctx_;
  CPtr<SSL, SSL_free> ssl_;
  std::string error_;
};

class HttpsServerTest : public ::testing::Test {
 protected:
  HttpsServerTest() : loop_("https-test") {
    certFile_ = dir_.path() / "cert.pem";
    keyFile_ = dir_.path() / "key.pem";
  }
  ~HttpsServerTest() override {
    loop_.runSync([&] { server_.reset(); });
  }

  void start() {
    writeCert(certFile_, keyFile_, "first.test", 1001);
    auto ctx = TlsContext::create(certFile_.string(), keyFile_.string());
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    tls_ = ctx.value();
    router_.add("GET", "/hello", [](Request& req, Responder res) {
      res.send(Response::text(200, req.tls ? "secure" : "plain"));
    });
    HttpServerOptions opts;
    opts.tls = tls_;
    opts.timeouts.header = 2000ms;
    loop_.runSync([&] {
      server_ = std::make_unique<HttpServer>(loop_.dispatcher(), opts, router_.handler());
      auto r = server_->listen();
      ASSERT_TRUE(r.ok()) << r.error().message;
      port_ = server_->port();
    });
  }

  medrelay::test::TempDir dir_;
  std::filesystem::path certFile_;
  std::filesystem::path keyFile_;
  std::shared_ptr<TlsContext> tls_;
  DispatcherThread loop_;
  RouteTable router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

TEST_F(HttpsServerTest, Tls13AndTls12HandshakesServeRequests) {
  start();
  TlsClient v13(port_, TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(v13.handshake()) << v13.error();
  EXPECT_EQ(v13.version(), TLS1_3_VERSION);  // 1.3 preferred when both sides have it
  EXPECT_EQ(v13.get("/hello"), "secure");
  EXPECT_EQ(v13.get("/hello"), "secure");  // keep-alive inside TLS

  TlsClient v12(port_, TLS1_2_VERSION, TLS1_2_VERSION);
  ASSERT_TRUE(v12.handshake()) << v12.error();
  EXPECT_EQ(v12.version(), TLS1_2_VERSION);
  EXPECT_EQ(v12.get("/hello"), "secure");
  EXPECT_EQ(v12.peerCn(), "first.test");
}

TEST_F(HttpsServerTest, Tls11ClientIsRefused) {
  start();
  TlsClient old(port_, TLS1_VERSION, TLS1_1_VERSION);
  EXPECT_FALSE(old.handshake());
  // The server's protocol_version alert, not a client that could not even offer TLS 1.1.
  EXPECT_NE(old.error().find("protocol version"), std::string::npos) << old.error();
  // The server is fine afterwards.
  TlsClient good(port_, TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(good.handshake()) << good.error();
  EXPECT_EQ(good.get("/hello"), "secure");
}

TEST_F(HttpsServerTest, GarbageInsteadOfTlsIsClosed) {
  start();
  test::TestClient raw(port_);
  ASSERT_TRUE(raw.send(test::get("/hello")));
  EXPECT_TRUE(raw.waitClosed(2000ms));
}

TEST_F(HttpsServerTest, ReloadServesNewCertToNewConnectionsOnly) {
  start();
  TlsClient before(port_, TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(before.handshake()) << before.error();
  EXPECT_EQ(before.peerSerial(), 1001);
  EXPECT_EQ(before.get("/hello"), "secure");

  writeCert(certFile_, keyFile_, "second.test", 2002);
  auto reloaded = tls_->reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().message;

  TlsClient after(port_, TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(after.handshake()) << after.error();
  EXPECT_EQ(after.peerSerial(), 2002);
  EXPECT_EQ(after.peerCn(), "second.test");
  EXPECT_EQ(after.get("/hello"), "secure");
  // The connection opened before the reload keeps working on its old session.
  EXPECT_EQ(before.get("/hello"), "secure");
  EXPECT_EQ(before.peerSerial(), 1001);

  // A broken certificate file: reload fails, the last good certificate stays in service.
  medrelay::test::writeFile(certFile_,
                            "-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n");
  auto failed = tls_->reload();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "tls_error");
  EXPECT_NE(failed.error().message.find("cert.pem"), std::string::npos) << failed.error().message;
  TlsClient third(port_, TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(third.handshake()) << third.error();
  EXPECT_EQ(third.peerSerial(), 2002);
  EXPECT_EQ(third.get("/hello"), "secure");

  // A key that does not match the certificate is refused too.
  writeCert(certFile_, keyFile_, "third.test", 3003);
  std::filesystem::path otherKey = dir_.path() / "other.pem";
  writeCert(dir_.path() / "other-cert.pem", otherKey, "other.test", 4004);
  std::filesystem::copy_file(otherKey, keyFile_, std::filesystem::copy_options::overwrite_existing);
  EXPECT_FALSE(tls_->reload().ok());
}

TEST(TlsContextTest, MissingFilesAreAnError) {
  auto ctx = TlsContext::create("/nonexistent/cert.pem", "/nonexistent/key.pem");
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.error().code, "tls_error");
  EXPECT_NE(ctx.error().message.find("/nonexistent/cert.pem"), std::string::npos);
  EXPECT_EQ(ERR_peek_error(), 0u);  // the queue was drained
}

}  // namespace
}  // namespace medrelay::net::http
