#include "net/tls/tls_context.h"

#include <openssl/err.h>

#include <cstring>

namespace medrelay::net {

namespace {

// TLS 1.2: ECDHE key exchange and AEAD ciphers only (RFC 9325 4.2). TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// ALPN (RFC 7301): we speak only http/1.1; without a match, continue without ALPN.
int selectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof(kHttp11), in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::string drainSslErrors(std::string_view what) {
  std::string msg(what);
  bool first = true;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += first ? ": " : "; ";
    msg += buf;
    first = false;
  }
  return msg;
}

Error sslError(std::string_view what) {
  return makeError("tls_error", drainSslErrors(what));
}

TlsContext::TlsContext(std::string certFile, std::string keyFile, SslCtxPtr ctx)
    : certFile_(std::move(certFile)), keyFile_(std::move(keyFile)), ctx_(std::move(ctx)) {}

Result<std::shared_ptr<TlsContext>> TlsContext::create(std::string certFile, std::string keyFile) {
  auto ctx = build(certFile, keyFile);
  if (!ctx) return ctx.error();
  return std::make_shared<TlsContext>(std::move(certFile), std::move(keyFile),
                                      std::move(ctx).value());
}

Result<SslCtxPtr> TlsContext::build(const std::string& certFile, const std::string& keyFile) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return sslError("SSL_CTX_new");
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) {
    return sslError("set_min_proto_version");
  }
  SSL_CTX_set_options(
      c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) return sslError("set_cipher_list");
  if (SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1) return sslError("set_ciphersuites");
  if (SSL_CTX_use_certificate_chain_file(c, certFile.c_str()) != 1) {
    return sslError("loading certificate " + certFile);
  }
  if (SSL_CTX_use_PrivateKey_file(c, keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    return sslError("loading private key " + keyFile);
  }
  if (SSL_CTX_check_private_key(c) != 1) return sslError("private key does not match certificate");
  SSL_CTX_set_alpn_select_cb(c, selectAlpn, nullptr);
  return ctx;
}

Result<void> TlsContext::reload() {
  auto ctx = build(certFile_, keyFile_);
  if (!ctx) return ctx.error();
  std::lock_guard lock(mutex_);
  ctx_ = std::move(ctx).value();  // open SSLs keep their own reference to the old context
  return {};
}

SslPtr TlsContext::newSsl() {
  std::lock_guard lock(mutex_);
  ERR_clear_error();
  SslPtr ssl(SSL_new(ctx_.get()));
  if (ssl) SSL_set_accept_state(ssl.get());
  return ssl;
}

}  // namespace medrelay::net
