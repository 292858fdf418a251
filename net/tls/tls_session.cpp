#include "net/tls/tls_session.h"

#include <openssl/err.h>

#include <algorithm>
#include <climits>

namespace medrelay::net {

TlsSession::TlsSession(SslPtr ssl) : ssl_(std::move(ssl)) {
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr || !ssl_) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    failed_ = true;
    error_ = drainSslErrors("TLS session setup");
    return;
  }
  // A read BIO that is empty asks for more data instead of reporting EOF.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
}

bool TlsSession::fatal(std::string_view what, int sslError) {
  failed_ = true;
  error_ = drainSslErrors(std::string(what) + " (ssl error " + std::to_string(sslError) + ")");
  return false;
}

void TlsSession::drainWire(std::string& wire) {
  if (wbio_ == nullptr) return;
  char buf[16 * 1024];
  while (BIO_ctrl_pending(wbio_) > 0) {
    int n = BIO_read(wbio_, buf, sizeof(buf));
    if (n <= 0) break;
    wire.append(buf, static_cast<size_t>(n));
  }
}

bool TlsSession::receive(std::string_view data, std::string& plain, std::string& wire) {
  if (failed_) return false;
  while (!data.empty()) {
    int chunk = static_cast<int>(std::min<size_t>(data.size(), INT_MAX));
    int n = BIO_write(rbio_, data.data(), chunk);
    if (n <= 0) return fatal("BIO_write", 0);
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (!handshakeDone_) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_.get());
    if (r != 1) {
      int e = SSL_get_error(ssl_.get(), r);
      drainWire(wire);  // the alert, if any, still goes out
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
      return fatal("TLS handshake", e);
    }
    handshakeDone_ = true;
    if (!pending_.empty()) {
      std::string p = std::move(pending_);
      pending_.clear();
      if (!send(p, wire)) return false;
    }
  }
  char buf[16 * 1024];
  while (!peerClosed_) {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (n > 0) {
      plain.append(buf, static_cast<size_t>(n));
      continue;
    }
    int e = SSL_get_error(ssl_.get(), n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
    if (e == SSL_ERROR_ZERO_RETURN) {
      peerClosed_ = true;
      break;
    }
    drainWire(wire);
    return fatal("SSL_read", e);
  }
  drainWire(wire);
  return true;
}

bool TlsSession::send(std::string_view plain, std::string& wire) {
  if (failed_) return false;
  if (!handshakeDone_) {
    pending_.append(plain);
    return true;
  }
  while (!plain.empty()) {
    ERR_clear_error();
    int chunk = static_cast<int>(std::min<size_t>(plain.size(), 1 << 30));
    int n = SSL_write(ssl_.get(), plain.data(), chunk);
    if (n <= 0) return fatal("SSL_write", SSL_get_error(ssl_.get(), n));
    plain.remove_prefix(static_cast<size_t>(n));
  }
  drainWire(wire);
  return true;
}

void TlsSession::shutdown(std::string& wire) {
  if (failed_ || !handshakeDone_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
  drainWire(wire);
}

}  // namespace medrelay::net
