#include "media/participant_session.h"

#include <openssl/rand.h>

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

}  // namespace medrelay::media
