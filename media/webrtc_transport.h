#pragma once
// One participant's WebRTC transport on a media worker: ICE-lite (RFC 8445 §2.5) → DTLS 1.2
// (RFC 6347; we are the DTLS server for actpass offers, the client for passive ones, RFC 8842 §5)
// → SRTP sessions keyed by the DTLS-SRTP exporter (RFC 5764 §4.2). Received RTP/RTCP is
// decrypted in place and handed to the Listener; sendRtp/sendRtcp protect in place and send on
// the selected pair. When the answer accepted a data channel m= section, an SctpAssociation runs
// over the DTLS application data (RFC 8261) once DTLS is up. Packet path: no allocation, no
// exceptions, drops counted.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/counters/media_counters.h"
#include "common/result.h"
#include "media/dtls_certificate.h"
#include "media/dtls_context.h"
#include "media/dtls_transport.h"
#include "media/ice_lite.h"
#include "media/sctp_association.h"
#include "media/session_observer.h"
#include "media/srtp_session.h"
#include "media/worker_transport.h"

namespace medrelay::media {

class WebRtcTransport final : public MediaSession,
                              public IceLite::Callbacks,
                              public DtlsTransport::Callbacks,
                              public SctpAssociation::Callbacks {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // SRTP keys are in place: media can flow both ways.
    virtual void onTransportConnected() = 0;
    // Decrypted RTP / RTCP; the buffer is writable and valid for the call.
    virtual void onTransportRtp(uint8_t* data, size_t len) = 0;
    virtual void onTransportRtcp(uint8_t* data, size_t len) = 0;
    // ICE never connected, DTLS failed, consent lost (RFC 7675 §5.1) or the peer closed DTLS:
    // the session is over. Never destroy the transport from inside this call (defer to the loop).
    virtual void onTransportFailed(SessionEndReason reason) = 0;
    // Data channels (docs/media.md "Data channels"); the transport counts refusals itself.
    // Never close a channel from inside onDataChannelMessage (SctpAssociation's buffer).
    virtual void onDataChannelOpen(const DataChannel& /*channel*/) {}
    virtual void onDataChannelMessage(const DataChannel& /*channel*/, bool /*binary*/,
                                      const uint8_t* /*data*/, size_t /*len*/) {}
    virtual void onDataChannelClosed(const DataChannel& /*channel*/) {}
    virtual void onDataChannelRefused() {}
  };
  struct Params {
    std::string localUfrag;
    std::string localPassword;
    std::string remoteUfrag;
    std::string remotePassword;
    Fingerprint remoteFingerprint;
    DtlsRole dtlsRole = DtlsRole::kServer;
    IceLite::Options ice;
    // ICE nomination and the DTLS handshake must both be done within this time of start()
    // (ice-failed, dtls-failed otherwise).
    std::chrono::milliseconds connectTimeout{20000};
    // Set when the answer accepted an m=application section (RFC 8841).
    std::optional<SctpAssociation::Options> sctp;
  };
  // Room for the SRTP/SRTCP trailer a caller must leave after a packet passed to sendRtp.
  static constexpr size_t kMaxTrailer = 32;

  WebRtcTransport(net::Dispatcher& dispatcher, WorkerTransport& transport, DtlsContext& dtls,
                  metrics::MediaWorkerMetrics& metrics, Listener& listener, Params params);
  ~WebRtcTransport() override;
  WebRtcTransport(const WebRtcTransport&) = delete;
  WebRtcTransport& operator=(const WebRtcTransport&) = delete;

  // Registers with the worker transport; as DTLS server, waits for the ClientHello at once.
  Result<void> start();
  // DTLS close_notify, unregister. Idempotent.
  void close();
  // ICE restart (RFC 8445 §9): new local credentials (read them from ice()), the session stays.
  void restartIce(std::string_view remoteUfrag, std::string_view remotePassword);

  // Protects `len` bytes in place (capacity >= len + kMaxTrailer) and sends on the selected pair.
  bool sendRtp(uint8_t* data, size_t len, size_t capacity);
  bool sendRtcp(uint8_t* data, size_t len, size_t capacity);

  bool connected() const { return srtpOut_.has_value() && selected_.has_value(); }
  // When the peer last sent something authenticated: a successful ICE check, a DTLS record from
  // a validated tuple, or an SRTP/SRTCP packet that passed authentication; before any, when
  // start() ran (loop ms).
  uint64_t startedMs() const { return startedMs_; }
  uint64_t lastActivityMs() const {
    return std::max({startedMs_, lastPacketMs_, ice_.lastCheckMs()});
  }
  const IceLite& ice() const { return ice_; }
  const DtlsTransport& dtls() const { return dtls_; }
  std::optional<SrtpProfile> srtpProfile() const { return dtls_.srtpProfile(); }
  // Nullptr until DTLS is up, or when no data channels were negotiated.
  SctpAssociation* sctp() { return sctp_.get(); }

  // MediaSession
  void onDtlsPacket(const net::TransportTuple& from, uint8_t* data, size_t len) override;
  void onRtpPacket(const net::TransportTuple& from, uint8_t* data, size_t len) override;
  void onRtcpPacket(const net::TransportTuple& from, uint8_t* data, size_t len) override;
  // IceLite::Callbacks
  void onIceSelectedPairChanged(const net::TransportTuple& tuple) override;
  void onIceConnected() override;
  void onIceConsentLost() override;
  // DtlsTransport::Callbacks
  void onDtlsSend(const uint8_t* data, size_t len) override;
  void onDtlsConnected(SrtpProfile profile, const SrtpKeys& keys) override;
  void onDtlsFailed(DtlsFailure reason) override;
  void onDtlsClosed() override;
  void onDtlsApplicationData(const uint8_t* data, size_t len) override;
  // SctpAssociation::Callbacks
  void onSctpSend(const uint8_t* data, size_t len) override;
  void onSctpConnected() override;
  void onSctpClosed() override;
  void onDataChannelOpen(const DataChannel& channel) override;
  void onDataChannelMessage(const DataChannel& channel, bool binary, const uint8_t* data,
                            size_t len) override;
  void onDataChannelClosed(const DataChannel& channel) override;
  void onDataChannelRefused(SctpAssociation::Refusal reason) override;

 private:
  void fail(SessionEndReason reason);
  void onConnectTimeout();

  WorkerTransport& transport_;
  metrics::MediaWorkerMetrics& metrics_;
  Listener& listener_;
  Params params_;
  net::Dispatcher& dispatcher_;
  IceLite ice_;
  DtlsTransport dtls_;
  std::optional<SrtpSession> srtpIn_;
  std::optional<SrtpSession> srtpOut_;
  std::optional<net::TransportTuple> selected_;
  std::optional<net::TransportTuple> lastDtlsFrom_;
  net::Timer connectTimer_;
  std::unique_ptr<SctpAssociation> sctp_;  // after dtls_: destroyed first
  uint64_t startedMs_ = 0;
  uint64_t lastPacketMs_ = 0;
  bool registered_ = false;
  bool dtlsStarted_ = false;
  bool failed_ = false;
};

}  // namespace medrelay::media
