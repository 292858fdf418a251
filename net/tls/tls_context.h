#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/c_ptr.h"
#include "common/result.h"

namespace medrelay::net {

using SslPtr = CPtr<SSL, SSL_free>;
using SslCtxPtr = CPtr<SSL_CTX, SSL_CTX_free>;

// The one check() for OpenSSL: drains this thread's error queue into
// "what: reason; reason" so no stale error leaks into the next SSL_get_error().
std::string drainSslErrors(std::string_view what);
// An Error with code "tls_error" and the drained queue as its message.
Error sslError(std::string_view what);

// Server-side TLS configuration from a PEM certificate chain and private key: TLS 1.2 minimum
// (1.3 negotiated when the client has it), AEAD-only TLS 1.2 ciphers with forward secrecy, ALPN
// "http/1.1". Thread-safe: newSsl() on the HTTP loop while reload() runs from a SIGHUP path.
class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> create(std::string certFile, std::string keyFile);

  // Rebuilds the SSL_CTX from the same files. New connections use the new certificate; open
  // ones keep theirs (each SSL holds a reference to the context it started with). On failure
  // the old context stays in use and the Error says why.
  Result<void> reload();

  // A server-mode SSL for a new connection, bound to the current context; null on failure.
  SslPtr newSsl();

  const std::string& certFile() const { return certFile_; }
  const std::string& keyFile() const { return keyFile_; }

  TlsContext(std::string certFile, std::string keyFile, SslCtxPtr ctx);

 private:
  static Result<SslCtxPtr> build(const std::string& certFile, const std::string& keyFile);

  std::string certFile_;
  std::string keyFile_;
  std::mutex mutex_;
  SslCtxPtr ctx_;
};

}  // namespace medrelay::net
