#pragma once

#include <string>
#include <string_view>

#include "net/tls/tls_context.h"

namespace medrelay::net {

// Server side of one TLS connection over memory BIOs: the caller moves bytes between the socket
// and this object, so TLS runs on the same libuv TCP stream as plain HTTP. Loop-thread only.
class TlsSession {
 public:
  explicit TlsSession(SslPtr ssl);

  // Network bytes in: decrypted application data is appended to plain, bytes to send (handshake,
  // alerts, tickets) to wire. False on a fatal TLS error (error() says why): close the connection
  // after sending wire.
  bool receive(std::string_view data, std::string& plain, std::string& wire);
  // Encrypts application data into wire; held back until the handshake completes.
  bool send(std::string_view plain, std::string& wire);
  // close_notify (RFC 8446 6.1) into wire; nothing before the handshake finished.
  void shutdown(std::string& wire);

  bool handshakeDone() const { return handshakeDone_; }
  bool peerClosed() const { return peerClosed_; }
  const std::string& error() const { return error_; }
  SSL* ssl() const { return ssl_.get(); }

 private:
  void drainWire(std::string& wire);
  bool fatal(std::string_view what, int sslError);

  SslPtr ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  std::string pending_;  // plaintext written before the handshake finished
  bool handshakeDone_ = false;
  bool peerClosed_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace medrelay::net
