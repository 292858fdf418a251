#include "media/participant_session.h"

#include <openssl/rand.h>

#include "media/chat_envelope.h"
#include "media/forwarding_room.h"

namespace medrelay::media {

std::optional<WebRtcTransport::Params> transportParams(const sdp::LocalTransport& local,
                                                       const sdp::NegotiatedSession& neg) {
  auto fp = Fingerprint::parse(neg.remoteFingerprint.algorithm + " " + neg.remoteFingerprint.value);
  if (!fp) return std::nullopt;
  WebRtcTransport::Params p;
  p.localUfrag = local.iceUfrag;
  p.localPassword = local.icePwd;
  p.remoteUfrag = neg.remoteIceUfrag;
  p.remotePassword = neg.remoteIcePwd;
  p.remoteFingerprint = *fp;
  p.dtlsRole = neg.dtlsRole;
  for (const sdp::NegotiatedMedia& m : neg.media) {
    if (!m.accepted || m.kind != sdp::MediaKind::kApplication) continue;
    SctpAssociation::Options o;  // maxMessageSize: Router::createSession sets the configured one
    o.remotePort = m.remoteSctpPort;
    o.remoteMaxMessageSize = static_cast<size_t>(m.remoteMaxMessageSize);
    // RFC 8841 §6.1: 0 means the peer takes any size; we still send no more than we accept.
    if (o.remoteMaxMessageSize == 0) o.remoteMaxMessageSize = SIZE_MAX;
    o.negotiatedStream = chat::kNegotiatedStream;
    o.negotiatedLabel = std::string(chat::kLabel);
    p.sctp = o;
    break;
  }
  return p;
}
namespace {

template <typename T>
T randomValue() {
  T v{};
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

}  // namespace

ParticipantSession::ParticipantSession(WorkerContext& ctx, ForwardingRoom& room, SessionSpec spec)
    : ctx_(ctx),
      room_(room),
      spec_(std::move(spec)),
      transport_(ctx.dispatcher, ctx.transport, ctx.dtls, ctx.metrics, *this, spec_.transport) {
  for (const sdp::NegotiatedMedia& m : spec_.negotiated.media) {
    if (!m.accepted || m.payloadType < 0) continue;
    if (m.kind != sdp::MediaKind::kAudio && m.kind != sdp::MediaKind::kVideo) continue;
    remb_ = remb_ || m.feedback.googRemb;
    if (spec_.publish) {
      if (m.feedback.transportCc && m.extensions.transportWideCc != 0 && !transportCc_) {
        // One sequence space per transport (bundle): any section's extension id names it.
        transportCc_ = std::make_unique<rtcp::TransportCcFeedback>();
        transportCcExtId_ = m.extensions.transportWideCc;
      }
      if (m.direction != sdp::MediaDirection::kRecvOnly &&
          m.direction != sdp::MediaDirection::kSendRecv) {
        continue;
      }
      if (m.feedback.googRemb && m.extensions.absSendTime != 0 && absSendTimeExtId_ == 0) {
        absSendTimeExtId_ = m.extensions.absSendTime;
      }
      auto p = std::make_unique<Producer>();
      p->owner = this;
      p->kind = m.kind;
      p->codec = m.codec;
      p->payloadType = static_cast<uint8_t>(m.payloadType);
      p->clockRate = m.clockRate;
      p->ext = m.extensions;
      if (!m.remoteSsrcs.empty()) p->ssrc = m.remoteSsrcs.front();
      for (const auto& [primary, rtx] : m.remoteRtxSsrcs) {
        if (primary == p->ssrc) p->rtxSsrc = rtx;
      }
      p->rtxPayloadType = m.rtxPayloadType.value_or(-1);
      p->firOnly = m.feedback.ccmFir && !m.feedback.nackPli;
      producers_.push_back(std::move(p));
    } else if (m.sendTrack) {
      if (m.feedback.transportCc && m.extensions.transportWideCc != 0 && !downlink_) {
        downlink_ = std::make_unique<DownlinkEstimator>();
        transportCcExtId_ = m.extensions.transportWideCc;
      }
      auto c =
          std::make_unique<Consumer>(randomValue<uint16_t>() & 0x7fff, randomValue<uint32_t>());
      c->owner = this;
      c->kind = m.kind;
      c->codec = m.codec;
      c->payloadType = static_cast<uint8_t>(m.payloadType);
      c->clockRate = m.clockRate;
      c->ssrc = m.sendTrack->ssrc;
      c->rtxSsrc = m.sendTrack->rtxSsrc;
      c->rtxPayloadType = m.rtxPayloadType.value_or(-1);
      c->ext = m.extensions;
      c->rtxSequence = randomValue<uint16_t>();
      if (m.kind == sdp::MediaKind::kVideo) c->rtx = std::make_unique<RtxBuffer>();
      consumers_.push_back(std::move(c));
    }
  }
  // Receive-side estimation only where the sender has nothing better: no transport-wide
  // feedback, but REMB and abs-send-time.
  if (spec_.publish && !transportCc_ && absSendTimeExtId_ != 0) {
    uplink_ = std::make_unique<DownlinkEstimator>();
  }
}

Producer* ParticipantSession::findProducer(uint32_t ssrc, uint8_t payloadType, bool& isRtx) {
  isRtx = false;
  for (auto& p : producers_) {
    if (p->ssrc == ssrc && ssrc != 0) return p.get();
    if (p->rtxSsrc == ssrc && ssrc != 0) {
      isRtx = true;
      return p.get();
    }
  }
  // No SSRC announced (or a new one after the publisher restarted its encoder): learn it from
  // the payload type, which is unique per m= section in a bundle (RFC 8843 §9.1).
  for (auto& p : producers_) {
    if (p->payloadType == payloadType) {
      p->ssrc = ssrc;
      p->stats.reset();
      p->nack.reset();
      if (p->keyframePending && !p->consumers.empty()) room_.onConnected(*this);
      return p.get();
    }
    if (p->rtxPayloadType >= 0 && p->rtxPayloadType == payloadType && p->ssrc != 0) {
      p->rtxSsrc = ssrc;
      isRtx = true;
      return p.get();
    }
  }
  return nullptr;
}

Consumer* ParticipantSession::findConsumer(uint32_t ssrc) {
  for (auto& c : consumers_) {
    if (c->ssrc == ssrc || (c->rtxSsrc != 0 && c->rtxSsrc == ssrc)) return c.get();
  }
  return consumers_.size() == 1 ? consumers_.front().get() : nullptr;
}

void ParticipantSession::onTransportConnected() {
  room_.onTransportConnected(*this);
}

void ParticipantSession::onTransportRtp(uint8_t* data, size_t len) {
  if (!spec_.publish) {
    ctx_.metrics.dropped[metrics::DropReason::kUnknownSsrc].inc();  // subscribers send no media
    return;
  }
  room_.onRtp(*this, data, len);
}

void ParticipantSession::onTransportRtcp(uint8_t* data, size_t len) {
  rtcpSeen = true;
  room_.onRtcp(*this, data, len);
}

void ParticipantSession::onTransportFailed(SessionEndReason reason) {
  if (ended_) return;
  ended_ = true;
  endReason_ = reason;
  room_.onFailed(*this, reason);
}

void ParticipantSession::onDataChannelOpen(const DataChannel& channel) {
  if (channel.label != chat::kLabel) {
    // Only the consultation chat is carried (docs/api "Data channels"): close the channel.
    const uint16_t stream = channel.stream;
    ctx_.metrics.datachannel_refused[metrics::DataChannelRefusal::kUnknownLabel].inc();
    ++dataTotals.refused;
    if (SctpAssociation* sctp = transport_.sctp()) sctp->closeChannel(stream);
    return;
  }
  // A channel the participant opened (DCEP) wins over the negotiated one it may not have made.
  if (!channel.negotiated || !chatStream_) chatStream_ = channel.stream;
}

void ParticipantSession::onDataChannelClosed(const DataChannel& channel) {
  if (chatStream_ == channel.stream) chatStream_.reset();
}

void ParticipantSession::onDataChannelMessage(const DataChannel& channel, bool binary,
                                              const uint8_t* data, size_t len) {
  using metrics::DataChannelRefusal;
  ctx_.metrics.datachannel_messages[metrics::Direction::kIn].inc();
  ctx_.metrics.datachannel_bytes[metrics::Direction::kIn].inc(len);
  ++dataTotals.messagesIn;
  dataTotals.bytesIn += len;
  if (channel.label != chat::kLabel) return refuseData(DataChannelRefusal::kUnknownLabel, "");
  if (!takeTokens(len)) return refuseData(DataChannelRefusal::kRateLimited, "rate_limited");
  if (binary) return refuseData(DataChannelRefusal::kBadEnvelope, "bad_envelope");
  room_.onChatMessage(*this, std::string_view(reinterpret_cast<const char*>(data), len));
}

bool ParticipantSession::sendChat(std::string_view envelope) {
  SctpAssociation* sctp = transport_.sctp();
  if (!chatStream_ || sctp == nullptr) return false;
  if (!sctp->send(*chatStream_, false, reinterpret_cast<const uint8_t*>(envelope.data()),
                  envelope.size())) {
    ctx_.metrics.datachannel_refused[metrics::DataChannelRefusal::kSendFailed].inc();
    ++dataTotals.refused;
    return false;
  }
  ctx_.metrics.datachannel_messages[metrics::Direction::kOut].inc();
  ctx_.metrics.datachannel_bytes[metrics::Direction::kOut].inc(envelope.size());
  ++dataTotals.messagesOut;
  dataTotals.bytesOut += envelope.size();
  return true;
}

void ParticipantSession::refuseData(metrics::DataChannelRefusal reason, std::string_view notice) {
  ctx_.metrics.datachannel_refused[reason].inc();
  ++dataTotals.refused;
  SctpAssociation* sctp = transport_.sctp();
  if (notice.empty() || !chatStream_ || sctp == nullptr) return;
  const uint64_t now = ctx_.nowMs();
  if (noticeSent_ && now - lastNoticeMs_ < 1000) return;
  noticeSent_ = true;
  lastNoticeMs_ = now;
  const std::string text = chat::systemNotice(notice);
  (void)sctp->send(*chatStream_, false, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

bool ParticipantSession::takeTokens(size_t len) {
  // Two token buckets (messages, bytes), each holding one second's worth.
  const DataChannelLimits& l = ctx_.dataChannels;
  const double byteBurst = std::max(l.bytesPerSecond, static_cast<double>(l.maxMessageSize));
  const uint64_t now = ctx_.nowMs();
  if (!tokensStarted_) {
    tokensStarted_ = true;
    messageTokens_ = l.messagesPerSecond;
    byteTokens_ = byteBurst;
  } else if (now > tokensAtMs_) {
    const double seconds = static_cast<double>(now - tokensAtMs_) / 1000.0;
    messageTokens_ = std::min(l.messagesPerSecond, messageTokens_ + seconds * l.messagesPerSecond);
    byteTokens_ = std::min(byteBurst, byteTokens_ + seconds * l.bytesPerSecond);
  }
  tokensAtMs_ = now;
  if (messageTokens_ < 1 || byteTokens_ < static_cast<double>(len)) return false;
  messageTokens_ -= 1;
  byteTokens_ -= static_cast<double>(len);
  return true;
}

}  // namespace medrelay::media
