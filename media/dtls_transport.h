#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/c_ptr.h"
#include "common/result.h"
#include "media/dtls_certificate.h"
#include "media/dtls_context.h"
#include "media/srtp_session.h"
#include "net/dispatcher.h"

namespace medrelay::media {

// One DTLS 1.2 association for DTLS-SRTP (RFC 5764) on top of one ICE session. OpenSSL runs on
// memory BIOs: datagrams come in through receive() and go out through Callbacks::onDtlsSend, one
// callback per datagram, so the transport never touches a socket. Everything runs on the
// Dispatcher's thread. Datagram methods never throw; failures end in onDtlsFailed and counters.
//
// Callbacks are never invoked from inside OpenSSL: outgoing datagrams are queued while OpenSSL
// runs and handed out after it returns. A callback may call send() or close() but must not
// destroy the transport: its caller is still on the stack (defer the destruction to the loop).
class DtlsTransport {
 public:
  enum class State : uint8_t { kNew, kConnecting, kConnected, kFailed, kClosed };

  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // One DTLS datagram to transmit to the peer.
    virtual void onDtlsSend(const uint8_t* data, size_t len) = 0;
    // Once per association, after the peer's certificate matched the SDP fingerprint.
    virtual void onDtlsConnected(SrtpProfile profile, const SrtpKeys& keys) = 0;
    virtual void onDtlsFailed(DtlsFailure reason) = 0;
    // The peer sent close_notify (RFC 5246 §7.2.1); we answered with ours.
    virtual void onDtlsClosed() = 0;
    // Decrypted application data (SCTP for data channels, RFC 8261).
    virtual void onDtlsApplicationData(const uint8_t* data, size_t len) = 0;
  };

  // Largest datagram receive() accepts: a full 2^14 record plus record overhead.
  static constexpr size_t kMaxDatagram = 16384 + 512;

  DtlsTransport(net::Dispatcher& dispatcher, DtlsContext& context, Callbacks& callbacks);
  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // The peer's a=fingerprint from its SDP. Required before start().
  void setRemoteFingerprint(const Fingerprint& fingerprint) { remoteFingerprint_ = fingerprint; }

  // Client (a=setup:active) sends the ClientHello at once; server (a=setup:passive) waits for it
  // (RFC 5763 §5, RFC 8842 §5). Control path: errors if already started, if no remote
  // fingerprint is set, or if OpenSSL cannot create the session.
  Result<void> start(DtlsRole role);

  // One received datagram, which may hold several records or one fragment of a handshake
  // message: OpenSSL's record layer reassembles (RFC 6347 §4.2.3).
  void receive(const uint8_t* data, size_t len);

  // Application data, one record per call. False unless connected or if OpenSSL refuses it.
  bool send(const uint8_t* data, size_t len);

  // Sends close_notify when connected and stops the timers. Idempotent.
  void close();

  State state() const { return state_; }
  std::optional<DtlsRole> role() const { return role_; }
  std::optional<SrtpProfile> srtpProfile() const { return profile_; }
  // OpenSSL's account of the last failure, for logs and tests.
  const std::string& failureMessage() const { return failureMessage_; }

  // RFC 7983 §7: the first byte of a DTLS record is in 20..63.
  static bool looksLikeDtls(const uint8_t* data, size_t len) {
    return len > 0 && data[0] >= 20 && data[0] <= 63;
  }

 private:
  struct Outgoing {
    std::vector<uint8_t> bytes;
  };

  static int bioWrite(BIO* bio, const char* data, int len);
  static long bioCtrl(BIO* bio, int cmd, long num, void* ptr);  // NOLINT(google-runtime-int)
  static int verifyCallback(int preverifyOk, X509_STORE_CTX* store);
  static void infoCallback(const SSL* ssl, int where, int ret);
  static unsigned int timerCallback(SSL* ssl, unsigned int previousUs);

  void queueOutgoing(const uint8_t* data, size_t len);
  void flushOutgoing();
  void continueHandshake();
  void onHandshakeComplete();
  void readApplicationData();
  void armRetransmitTimer();
  void onRetransmitTimer();
  void fail(DtlsFailure reason, std::string message);
  void drop(DtlsDrop reason);
  bool matchesRemoteFingerprint(const X509* certificate) const;
  void stopTimers();

  DtlsContext& context_;
  Callbacks& callbacks_;
  net::Timer retransmitTimer_;
  net::Timer handshakeTimer_;
  CPtr<SSL, SSL_free> ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  State state_ = State::kNew;
  std::optional<DtlsRole> role_;
  std::optional<SrtpProfile> profile_;
  std::optional<Fingerprint> remoteFingerprint_;
  bool fingerprintRejected_ = false;  // verify callback saw a mismatching leaf
  bool fatalAlertReceived_ = false;
  std::string failureMessage_;
  // Datagrams OpenSSL wrote during the current call; slots keep their capacity for reuse.
  std::vector<Outgoing> outgoing_;
  size_t outgoingCount_ = 0;
  bool flushing_ = false;
  std::vector<uint8_t> readBuffer_;  // sized when connected
};

}  // namespace medrelay::media
