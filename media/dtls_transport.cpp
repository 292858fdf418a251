#include "media/dtls_transport.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "common/assert.h"
#include "common/logging.h"

namespace medrelay::media {
namespace {

using std::chrono::milliseconds;

constexpr char kSrtpExporterLabel[] = "EXTRACTOR-dtls_srtp";  // RFC 5764 §4.2

std::shared_ptr<spdlog::logger> logger() {
  static const auto l = log::get("dtls");
  return l;
}

// The write side of every SSL: a BIO that hands each write, which OpenSSL makes once per
// datagram, to its transport with the boundary kept. A plain memory BIO would glue a flight's
// datagrams together. Created once per process.
BIO_METHOD* writeBioMethod(int (*write)(BIO*, const char*, int),
                           long (*ctrl)(BIO*, int, long, void*)) {  // NOLINT(google-runtime-int)
  static const CPtr<BIO_METHOD, BIO_meth_free> method = [&] {
    CPtr<BIO_METHOD, BIO_meth_free> m(
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "medrelay dtls datagrams"));
    MEDRELAY_ASSERT(m != nullptr, "BIO_meth_new");
    BIO_meth_set_write(m.get(), write);
    BIO_meth_set_ctrl(m.get(), ctrl);
    BIO_meth_set_create(m.get(), [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    BIO_meth_set_destroy(m.get(), [](BIO* b) {
      BIO_set_data(b, nullptr);
      return 1;
    });
    return m;
  }();
  return method.get();
}

}  // namespace

DtlsTransport::DtlsTransport(net::Dispatcher& dispatcher, DtlsContext& context,
                             Callbacks& callbacks)
    : context_(context),
      callbacks_(callbacks),
      retransmitTimer_(dispatcher, [this] { onRetransmitTimer(); }),
      handshakeTimer_(dispatcher, [this] {
        if (state_ == State::kConnecting) fail(DtlsFailure::kTimeout, "handshake timed out");
      }) {}

DtlsTransport::~DtlsTransport() {
  stopTimers();
  if (ssl_) {
    // The BIOs outlive nothing: clear the back pointer before SSL_free destroys them.
    BIO_set_data(SSL_get_wbio(ssl_.get()), nullptr);
    SSL_set_app_data(ssl_.get(), nullptr);
  }
}

Result<void> DtlsTransport::start(DtlsRole role) {
  if (state_ != State::kNew) return makeError("dtls_state", "DTLS transport already started");
  if (!remoteFingerprint_) return makeError("dtls_fingerprint", "no remote fingerprint set");

  ERR_clear_error();
  ssl_.reset(SSL_new(context_.sslContext()));
  if (!ssl_) return makeError("dtls_session", openSslErrors("SSL_new"));
  SSL* ssl = ssl_.get();

  rbio_ = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(writeBioMethod(&DtlsTransport::bioWrite, &DtlsTransport::bioCtrl));
  if (rbio_ == nullptr || wbio == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio);
    rbio_ = nullptr;
    return makeError("dtls_session", openSslErrors("BIO_new"));
  }
  BIO_set_mem_eof_return(rbio_, -1);  // empty means "want read", not EOF
  BIO_set_data(wbio, this);
  SSL_set_bio(ssl, rbio_, wbio);  // ssl owns both now
  SSL_set_app_data(ssl, this);

  SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                 &DtlsTransport::verifyCallback);
  SSL_set_info_callback(ssl, &DtlsTransport::infoCallback);
  DTLS_set_timer_cb(ssl, &DtlsTransport::timerCallback);
  // Fixed MTU, never probed (SSL_OP_NO_QUERY_MTU on the context). Our BIO reports no
  // per-datagram overhead, so link MTU and data MTU are the same number.
  const long mtu = context_.options().mtu;  // NOLINT(google-runtime-int)
  if (DTLS_set_link_mtu(ssl, mtu) <= 0 || SSL_set_mtu(ssl, mtu) <= 0) {  // both 0 on failure
    return makeError("dtls_session", openSslErrors("setting the MTU"));
  }

  role_ = role;
  state_ = State::kConnecting;
  ++context_.counters().handshakesStarted;
  handshakeTimer_.start(context_.options().handshakeTimeout);
  if (role == DtlsRole::kClient) {
    SSL_set_connect_state(ssl);
    continueHandshake();  // sends the ClientHello
  } else {
    SSL_set_accept_state(ssl);
  }
  return {};
}

void DtlsTransport::receive(const uint8_t* data, size_t len) {
  switch (state_) {
    case State::kNew:
      return drop(DtlsDrop::kNotStarted);
    case State::kFailed:
    case State::kClosed:
      return drop(DtlsDrop::kFinished);
    case State::kConnecting:
    case State::kConnected:
      break;
  }
  if (data == nullptr || !looksLikeDtls(data, len)) return drop(DtlsDrop::kNotDtls);
  if (len > kMaxDatagram) return drop(DtlsDrop::kOversized);

  // One datagram at a time: whatever OpenSSL left unread of the previous one is stale.
  (void)BIO_reset(rbio_);
  if (BIO_write(rbio_, data, static_cast<int>(len)) != static_cast<int>(len)) {
    ERR_clear_error();
    return drop(DtlsDrop::kOversized);
  }
  if (state_ == State::kConnecting) {
    continueHandshake();
  } else {
    readApplicationData();
  }
}

bool DtlsTransport::send(const uint8_t* data, size_t len) {
  if (state_ != State::kConnected || len == 0 || len > 16384) return false;
  ERR_clear_error();
  const int written = SSL_write(ssl_.get(), data, static_cast<int>(len));
  if (written <= 0) ERR_clear_error();
  flushOutgoing();
  return written == static_cast<int>(len);
}

void DtlsTransport::close() {
  if (state_ == State::kConnected) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_.get());  // queues close_notify (RFC 5246 §7.2.1)
    ERR_clear_error();
    state_ = State::kClosed;
    flushOutgoing();
  } else if (state_ == State::kConnecting || state_ == State::kNew) {
    state_ = State::kClosed;
  }
  stopTimers();
}

void DtlsTransport::continueHandshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_.get());
  const int error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), r);
  flushOutgoing();  // our next flight, or the alert that ends the handshake
  if (state_ != State::kConnecting) return;  // a callback closed us
  if (r == 1) return onHandshakeComplete();
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    ERR_clear_error();
    return armRetransmitTimer();
  }
  DtlsFailure reason = DtlsFailure::kProtocolError;
  if (fingerprintRejected_) {
    reason = DtlsFailure::kFingerprintMismatch;
  } else if (fatalAlertReceived_) {
    reason = DtlsFailure::kAlertReceived;
  }
  fail(reason, openSslErrors("handshake"));
}

void DtlsTransport::onHandshakeComplete() {
  SSL* ssl = ssl_.get();
  // The verify callback already pinned the leaf; check the certificate OpenSSL kept, too, so
  // that no path to keys skips the fingerprint (RFC 8122 §5).
  if (!matchesRemoteFingerprint(SSL_get0_peer_certificate(ssl))) {
    return fail(DtlsFailure::kFingerprintMismatch, "peer certificate does not match");
  }
  const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl);
  const auto profile = selected != nullptr
                           ? srtpProfileFromDtlsId(static_cast<uint16_t>(selected->id))
                           : std::nullopt;
  if (!profile) return fail(DtlsFailure::kNoSrtpProfile, "no SRTP profile negotiated");

  // RFC 5764 §4.2: client_key | server_key | client_salt | server_salt.
  std::array<uint8_t, 2 * kSrtpMaxMasterKeyLength> material{};
  const size_t length = dtlsSrtpKeyingMaterialLength(*profile);
  std::optional<SrtpKeys> keys;
  if (SSL_export_keying_material(ssl, material.data(), length, kSrtpExporterLabel,
                                 sizeof(kSrtpExporterLabel) - 1, nullptr, 0, 0) == 1) {
    keys = splitDtlsSrtpKeyingMaterial(*profile, {material.data(), length}, *role_);
  }
  OPENSSL_cleanse(material.data(), material.size());
  if (!keys) return fail(DtlsFailure::kKeyExport, openSslErrors("exporting SRTP keys"));

  handshakeTimer_.stop();
  retransmitTimer_.stop();
  profile_ = profile;
  state_ = State::kConnected;
  ++context_.counters().handshakesOk;
  readBuffer_.resize(16384);
  MR_LOG_DEBUG(logger(), "DTLS connected as {}, {} with {}",
               *role_ == DtlsRole::kClient ? "client" : "server", srtpProfileParams(*profile).name,
               SSL_get_cipher_name(ssl));
  callbacks_.onDtlsConnected(*profile, *keys);
  // Records that came in the same datagram as the peer's Finished.
  if (state_ == State::kConnected) readApplicationData();
}

void DtlsTransport::readApplicationData() {
  while (state_ == State::kConnected) {
    ERR_clear_error();
    const int r = SSL_read(ssl_.get(), readBuffer_.data(), static_cast<int>(readBuffer_.size()));
    if (r > 0) {
      flushOutgoing();
      callbacks_.onDtlsApplicationData(readBuffer_.data(), static_cast<size_t>(r));
      continue;
    }
    const int error = SSL_get_error(ssl_.get(), r);
    // A retransmitted Finished makes OpenSSL resend our last flight (RFC 6347 §4.2.4).
    flushOutgoing();
    if (state_ != State::kConnected) return;
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return;
    }
    if (error == SSL_ERROR_ZERO_RETURN) {
      // close_notify: answer with ours, then report (RFC 5246 §7.2.1).
      ERR_clear_error();
      (void)SSL_shutdown(ssl_.get());
      ERR_clear_error();
      state_ = State::kClosed;
      stopTimers();
      ++context_.counters().closedByPeer;
      flushOutgoing();
      callbacks_.onDtlsClosed();
      return;
    }
    fail(fatalAlertReceived_ ? DtlsFailure::kAlertReceived : DtlsFailure::kProtocolError,
         openSslErrors("read"));
    return;
  }
}

void DtlsTransport::armRetransmitTimer() {
  timeval tv{};
  if (DTLSv1_get_timeout(ssl_.get(), &tv) != 1) {
    retransmitTimer_.stop();
    return;
  }
  // Round up: firing early makes DTLSv1_handle_timeout a no-op and costs a loop turn.
  const auto ms = tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
  retransmitTimer_.start(milliseconds(std::max<decltype(ms)>(ms, 1)));
}

void DtlsTransport::onRetransmitTimer() {
  if (state_ != State::kConnecting) return;
  ERR_clear_error();
  const int r = DTLSv1_handle_timeout(ssl_.get());
  flushOutgoing();
  if (state_ != State::kConnecting) return;
  if (r < 0) {
    // OpenSSL gives up after DTLS1_TMO_ALERT_COUNT timeouts.
    return fail(DtlsFailure::kTimeout, openSslErrors("retransmission limit"));
  }
  if (r > 0) ++context_.counters().retransmissions;
  armRetransmitTimer();
}

void DtlsTransport::fail(DtlsFailure reason, std::string message) {
  if (state_ == State::kFailed || state_ == State::kClosed) return;
  const bool handshaking = state_ == State::kConnecting;
  state_ = State::kFailed;
  stopTimers();
  failureMessage_ = std::move(message);
  if (handshaking) {
    ++context_.counters().handshakesFailed[static_cast<size_t>(reason)];
  } else {
    ++context_.counters().failedAfterConnect;
  }
  MR_LOG_INFO(logger(), "DTLS failed ({}): {}", dtlsFailureName(reason), failureMessage_);
  callbacks_.onDtlsFailed(reason);
}

void DtlsTransport::drop(DtlsDrop reason) {
  ++context_.counters().datagramsDropped[static_cast<size_t>(reason)];
}

void DtlsTransport::stopTimers() {
  retransmitTimer_.stop();
  handshakeTimer_.stop();
}

bool DtlsTransport::matchesRemoteFingerprint(const X509* certificate) const {
  if (certificate == nullptr || !remoteFingerprint_) return false;
  const auto actual = certificateFingerprint(certificate, remoteFingerprint_->algorithm);
  return actual && *actual == *remoteFingerprint_;
}

void DtlsTransport::queueOutgoing(const uint8_t* data, size_t len) {
  if (outgoingCount_ == outgoing_.size()) outgoing_.emplace_back();
  outgoing_[outgoingCount_++].bytes.assign(data, data + len);
}

void DtlsTransport::flushOutgoing() {
  if (flushing_) return;  // the outer loop picks up what a callback queued
  flushing_ = true;
  for (size_t i = 0; i < outgoingCount_; ++i) {
    // Moving outgoing_ (a callback that sends grows it) keeps each slot's heap buffer.
    const std::vector<uint8_t>& bytes = outgoing_[i].bytes;
    callbacks_.onDtlsSend(bytes.data(), bytes.size());
  }
  outgoingCount_ = 0;
  flushing_ = false;
}

int DtlsTransport::bioWrite(BIO* bio, const char* data, int len) {
  auto* self = static_cast<DtlsTransport*>(BIO_get_data(bio));
  if (self == nullptr || len < 0) return -1;
  self->queueOutgoing(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len));
  return len;
}

long DtlsTransport::bioCtrl(BIO* /*bio*/, int cmd, long /*num*/,  // NOLINT(google-runtime-int)
                            void* /*ptr*/) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:  // MTU figures are DTLS payload sizes
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
    default:
      return 0;
  }
}

int DtlsTransport::verifyCallback(int /*preverifyOk*/, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = ssl != nullptr ? static_cast<DtlsTransport*>(SSL_get_app_data(ssl)) : nullptr;
  if (self == nullptr) return 0;
  // Self-signed and unknown issuers are fine: the SDP fingerprint authenticates the leaf
  // (RFC 5763 §5). Certificates above it are not looked at.
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  if (!self->matchesRemoteFingerprint(X509_STORE_CTX_get_current_cert(store))) {
    self->fingerprintRejected_ = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;  // OpenSSL sends bad_certificate and the handshake fails
  }
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

void DtlsTransport::infoCallback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_READ_ALERT) == 0) return;
  auto* self = static_cast<DtlsTransport*>(SSL_get_app_data(ssl));
  // ret: level << 8 | description (RFC 5246 §7.2).
  if (self != nullptr && (ret >> 8) == SSL3_AL_FATAL) self->fatalAlertReceived_ = true;
}

unsigned int DtlsTransport::timerCallback(SSL* ssl, unsigned int previousUs) {
  auto* self = static_cast<DtlsTransport*>(SSL_get_app_data(ssl));
  if (self == nullptr) return previousUs == 0 ? 1000000 : previousUs * 2;
  const auto& options = self->context_.options();
  const auto initialUs = static_cast<unsigned int>(options.initialRetransmit.count() * 1000);
  const auto maxUs = static_cast<unsigned int>(options.maxRetransmit.count() * 1000);
  if (previousUs == 0) return initialUs;
  return std::min(previousUs * 2, maxUs);  // RFC 6347 §4.2.4.1: double on each timeout
}

}  // namespace medrelay::media
