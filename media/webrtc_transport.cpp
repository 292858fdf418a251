#include "media/webrtc_transport.h"

#include "common/logging.h"

namespace medrelay::media {
namespace {

using metrics::DropReason;
using MDir = metrics::Direction;

metrics::SrtpError srtpLabel(SrtpError e) {
  switch (e) {
    case SrtpError::kAuthFail:
      return metrics::SrtpError::kAuth;
    case SrtpError::kReplayFail:
      return metrics::SrtpError::kReplay;
    default:
      return metrics::SrtpError::kOther;
  }
}

metrics::DtlsFailure dtlsLabel(DtlsFailure f) {
  switch (f) {
    case DtlsFailure::kTimeout:
      return metrics::DtlsFailure::kTimeout;
    case DtlsFailure::kFingerprintMismatch:
      return metrics::DtlsFailure::kFingerprint;
    case DtlsFailure::kNoSrtpProfile:
      return metrics::DtlsFailure::kSrtpProfile;
    case DtlsFailure::kAlertReceived:
      return metrics::DtlsFailure::kAlert;
    default:
      return metrics::DtlsFailure::kOther;
  }
}

}  // namespace

WebRtcTransport::WebRtcTransport(net::Dispatcher& dispatcher, WorkerTransport& transport,
                                 DtlsContext& dtls, metrics::MediaWorkerMetrics& metrics,
                                 Listener& listener, Params params)
    : transport_(transport),
      metrics_(metrics),
      listener_(listener),
      params_(std::move(params)),
      dispatcher_(dispatcher),
      ice_(dispatcher, *this, params_.ice),
      dtls_(dispatcher, dtls, *this),
      connectTimer_(dispatcher, [this] { onConnectTimeout(); }) {
  ice_.setLocalCredentials(params_.localUfrag, params_.localPassword);
  ice_.setRemoteCredentials(params_.remoteUfrag, params_.remotePassword);
  dtls_.setRemoteFingerprint(params_.remoteFingerprint);
}

WebRtcTransport::~WebRtcTransport() {
  close();
}

Result<void> WebRtcTransport::start() {
  if (auto r = transport_.addSession(ice_, *this); !r.ok()) return r;
  registered_ = true;
  startedMs_ = dispatcher_.nowMs();
  connectTimer_.start(params_.connectTimeout);
  if (params_.dtlsRole == DtlsRole::kServer) {
    dtlsStarted_ = true;
    return dtls_.start(DtlsRole::kServer);
  }
  return {};  // DTLS client: the ClientHello goes out once ICE has a selected pair
}

void WebRtcTransport::close() {
  connectTimer_.stop();
  sctp_.reset();
  if (registered_) {
    dtls_.close();
    transport_.removeSession(ice_);
    registered_ = false;
  }
  failed_ = true;
}

void WebRtcTransport::restartIce(std::string_view remoteUfrag, std::string_view remotePassword) {
  if (registered_) transport_.restartIce(ice_, remoteUfrag, remotePassword);
}

bool WebRtcTransport::sendRtp(uint8_t* data, size_t len, size_t capacity) {
  if (!connected()) {
    metrics_.dropped[DropReason::kNotConnected].inc();
    return false;
  }
  SrtpError err = SrtpError::kNone;
  if (!srtpOut_->protectRtp(data, len, capacity, &err)) {
    metrics_.srtp_errors[MDir::kOut][srtpLabel(err)].inc();
    return false;
  }
  if (!transport_.send(*selected_, data, len)) {
    metrics_.dropped[DropReason::kSendFailed].inc();
    return false;
  }
  metrics_.sent(metrics::PacketKind::kRtp, len);
  return true;
}

bool WebRtcTransport::sendRtcp(uint8_t* data, size_t len, size_t capacity) {
  if (!connected()) {
    metrics_.dropped[DropReason::kNotConnected].inc();
    return false;
  }
  SrtpError err = SrtpError::kNone;
  if (!srtpOut_->protectRtcp(data, len, capacity, &err)) {
    metrics_.srtp_errors[MDir::kOut][srtpLabel(err)].inc();
    return false;
  }
  if (!transport_.send(*selected_, data, len)) {
    metrics_.dropped[DropReason::kSendFailed].inc();
    return false;
  }
  metrics_.sent(metrics::PacketKind::kRtcp, len);
  return true;
}

void WebRtcTransport::onDtlsPacket(const net::TransportTuple& from, uint8_t* data, size_t len) {
  lastDtlsFrom_ = from;
  lastPacketMs_ = dispatcher_.nowMs();  // only tuples that passed an ICE check reach here
  if (!dtlsStarted_) {
    // A DTLS client's peer speaks only after our ClientHello; anything earlier is noise.
    metrics_.dropped[DropReason::kNotConnected].inc();
    return;
  }
  dtls_.receive(data, len);
}

void WebRtcTransport::onRtpPacket(const net::TransportTuple& /*from*/, uint8_t* data, size_t len) {
  metrics_.received(metrics::PacketKind::kRtp, len);
  if (!srtpIn_) {
    metrics_.dropped[DropReason::kNotConnected].inc();
    return;
  }
  SrtpError err = SrtpError::kNone;
  if (!srtpIn_->unprotectRtp(data, len, &err)) {
    metrics_.srtp_errors[MDir::kIn][srtpLabel(err)].inc();
    metrics_.dropped[DropReason::kSrtp].inc();
    return;
  }
  lastPacketMs_ = dispatcher_.nowMs();
  listener_.onTransportRtp(data, len);
}

void WebRtcTransport::onRtcpPacket(const net::TransportTuple& /*from*/, uint8_t* data, size_t len) {
  metrics_.received(metrics::PacketKind::kRtcp, len);
  if (!srtpIn_) {
    metrics_.dropped[DropReason::kNotConnected].inc();
    return;
  }
  SrtpError err = SrtpError::kNone;
  if (!srtpIn_->unprotectRtcp(data, len, &err)) {
    metrics_.srtp_errors[MDir::kIn][srtpLabel(err)].inc();
    metrics_.dropped[DropReason::kSrtp].inc();
    return;
  }
  lastPacketMs_ = dispatcher_.nowMs();
  listener_.onTransportRtcp(data, len);
}

void WebRtcTransport::onIceSelectedPairChanged(const net::TransportTuple& tuple) {
  selected_ = tuple;
}

void WebRtcTransport::onIceConnected() {
  metrics_
      .ice_handshakes[selected_ && selected_->protocol == net::TransportProtocol::kTcp
                          ? metrics::Transport::kTcp
                          : metrics::Transport::kUdp]
      .inc();
  if (!dtlsStarted_ && params_.dtlsRole == DtlsRole::kClient) {
    dtlsStarted_ = true;
    if (auto r = dtls_.start(DtlsRole::kClient); !r.ok()) fail(SessionEndReason::kDtlsFailed);
  }
}

void WebRtcTransport::onIceConsentLost() {
  metrics_.ice_failures[metrics::IceFailure::kTimeout].inc();
  fail(SessionEndReason::kConsentTimeout);
}

void WebRtcTransport::onDtlsSend(const uint8_t* data, size_t len) {
  // Before nomination the handshake answers on the path the peer's DTLS came from.
  const net::TransportTuple* to =
      selected_ ? &*selected_ : (lastDtlsFrom_ ? &*lastDtlsFrom_ : nullptr);
  if (to == nullptr) return;
  transport_.sendNow(*to, data, len);
}

void WebRtcTransport::onDtlsConnected(SrtpProfile profile, const SrtpKeys& keys) {
  auto in = SrtpSession::create(SrtpSession::Kind::kInbound, profile, keys.remote);
  auto out = SrtpSession::create(SrtpSession::Kind::kOutbound, profile, keys.local);
  if (!in.ok() || !out.ok()) {
    fail(SessionEndReason::kDtlsFailed);
    return;
  }
  connectTimer_.stop();
  srtpIn_.emplace(std::move(in).value());
  srtpOut_.emplace(std::move(out).value());
  metrics_.dtls_handshakes.inc();
  if (!selected_ && lastDtlsFrom_) selected_ = lastDtlsFrom_;
  if (params_.sctp && !sctp_) {
    // RFC 8841 §4: SCTP starts once DTLS is up; both sides send INIT.
    sctp_ = SctpAssociation::create(dispatcher_, *this, *params_.sctp);
  }
  listener_.onTransportConnected();
}

void WebRtcTransport::onDtlsFailed(DtlsFailure reason) {
  metrics_.dtls_failures[dtlsLabel(reason)].inc();
  MR_LOG_INFO(log::get("dtls"), "dtls failed: {} ({})", dtlsFailureName(reason),
              dtls_.failureMessage());
  fail(SessionEndReason::kDtlsFailed);
}

void WebRtcTransport::onDtlsClosed() {
  fail(SessionEndReason::kDtlsClosed);
}

void WebRtcTransport::onDtlsApplicationData(const uint8_t* data, size_t len) {
  if (!sctp_) {
    // No data channel was negotiated (or the association could not be created).
    metrics_.dropped[DropReason::kOther].inc();
    return;
  }
  lastPacketMs_ = dispatcher_.nowMs();
  sctp_->receive(data, len);
}

void WebRtcTransport::onSctpSend(const uint8_t* data, size_t len) {
  // SCTP retransmits what is lost here (RFC 9260 §6.3.3): count the datagram like media drops.
  if (!dtls_.send(data, len)) metrics_.dropped[DropReason::kSendFailed].inc();
}

void WebRtcTransport::onSctpConnected() {
  metrics_.sctp_associations.inc();
}

void WebRtcTransport::onSctpClosed() {
  MR_LOG_DEBUG(log::get("dtls"), "sctp association closed");
}

void WebRtcTransport::onDataChannelOpen(const DataChannel& channel) {
  listener_.onDataChannelOpen(channel);
}

void WebRtcTransport::onDataChannelMessage(const DataChannel& channel, bool binary,
                                           const uint8_t* data, size_t len) {
  listener_.onDataChannelMessage(channel, binary, data, len);
}

void WebRtcTransport::onDataChannelClosed(const DataChannel& channel) {
  listener_.onDataChannelClosed(channel);
}

void WebRtcTransport::onDataChannelRefused(SctpAssociation::Refusal reason) {
  using R = metrics::DataChannelRefusal;
  R label = R::kOther;
  switch (reason) {
    case SctpAssociation::Refusal::kTooLarge:
      label = R::kTooLarge;
      break;
    case SctpAssociation::Refusal::kBadDcep:
      label = R::kBadDcep;
      break;
    case SctpAssociation::Refusal::kUnknownChannel:
      label = R::kUnknownChannel;
      break;
    case SctpAssociation::Refusal::kBadPpid:
      label = R::kBadPpid;
      break;
    case SctpAssociation::Refusal::kInterleaved:
      label = R::kInterleaved;
      break;
  }
  metrics_.datachannel_refused[label].inc();
  listener_.onDataChannelRefused();
}

void WebRtcTransport::onConnectTimeout() {
  if (connected() || failed_) return;
  if (ice_.state() == IceLite::State::kNew) {
    metrics_.ice_failures[metrics::IceFailure::kNoNomination].inc();
    fail(SessionEndReason::kIceFailed);
  } else {
    metrics_.dtls_failures[metrics::DtlsFailure::kTimeout].inc();
    fail(SessionEndReason::kDtlsFailed);
  }
}

void WebRtcTransport::fail(SessionEndReason reason) {
  if (failed_) return;
  failed_ = true;
  listener_.onTransportFailed(reason);
}

}  // namespace medrelay::media
