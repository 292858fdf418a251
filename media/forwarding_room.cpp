#include "media/forwarding_room.h"

#include <algorithm>
#include <cstring>

#include "common/be_bytes.h"
#include "media/downlink_estimator.h"
#include "media/rtp/rtcp_packet.h"
#include "media/rtp/rtp_codecs.h"
#include "media/rtp/rtp_packet.h"

namespace medrelay::media {
namespace {

using metrics::DropReason;
using MDir = metrics::Direction;

constexpr uint64_t kRtxMaxAgeMs = 1000;
// Resend suppression window before a subscriber's round trip is known.
constexpr uint64_t kDefaultResendIntervalMs = 20;
// Transport-wide feedback cadence: every 50 ms while packets arrive, sooner at high packet rates
// (draft-holmer-rmcat-transport-wide-cc-extensions-01 leaves the interval to the receiver).
constexpr uint64_t kTransportCcIntervalUs = 50'000;
constexpr size_t kTransportCcMaxPending = 200;

uint64_t rembEstimate(uint64_t bitsPerSecond) {
  // Receive rate plus head-room, so a sender keeps ramping up (no delay-based estimate here).
  const uint64_t target = bitsPerSecond + bitsPerSecond / 2 + 150'000;
  return std::clamp<uint64_t>(target, 300'000, 2'500'000);
}

// Is this payload the first packet of a keyframe? VP8: RFC 7741 §4.3 (start of partition 0,
// P bit clear); H.264: an SPS or the start of an IDR (RFC 6184: alone, in a STAP-A or starting an
// FU-A; browsers send SPS and PPS right before every IDR). Other codecs have
// no cheap test here and are never held back.
bool startsKeyframe(sdp::Codec codec, std::span<const uint8_t> payload) {
  if (codec == sdp::Codec::kVp8) {
    auto d = parseVp8Descriptor(payload);
    return d && d->keyframe;
  }
  if (codec == sdp::Codec::kH264) return h264IsKeyframe(payload);
  return true;
}

}  // namespace

ForwardingRoom::ForwardingRoom(std::string id, WorkerContext& ctx, Callbacks& callbacks)
    : id_(std::move(id)), ctx_(ctx), callbacks_(callbacks) {}

void ForwardingRoom::addSession(ParticipantSession& session) {
  sessions_.push_back(&session);
  bindAll();
}

void ForwardingRoom::removeSession(ParticipantSession& session) {
  for (auto& p : session.producers()) {
    for (Consumer* c : p->consumers) c->producer = nullptr;
    p->consumers.clear();
  }
  for (auto& c : session.consumers()) {
    if (c->producer) std::erase(c->producer->consumers, c.get());
    c->producer = nullptr;
  }
  std::erase(sessions_, &session);
  bindAll();
}

void ForwardingRoom::setForwardingRules(ForwardingRules rules) {
  rules_ = std::move(rules);
  bindAll();
}

// Re-evaluates which producer each consumer receives and whether the room's forwarding rules let
// it (waiting room).
void ForwardingRoom::bindAll() {
  for (ParticipantSession* s : sessions_) {
    if (s->publishes()) continue;
    for (auto& c : s->consumers()) bind(*s, *c);
  }
}

void ForwardingRoom::bind(ParticipantSession& subscriber, Consumer& consumer) {
  const SessionSpec& sub = subscriber.spec();
  ParticipantSession* publisher = nullptr;
  for (ParticipantSession* s : sessions_) {
    if (!s->publishes() || s->ended()) continue;
    const SessionSpec& pub = s->spec();
    const bool match = !sub.targetInvite.empty()
                           ? pub.inviteId == sub.targetInvite
                           : (!sub.targetRole.empty() && pub.role == sub.targetRole);
    if (match) publisher = s;  // the newest publish session of that participant wins
  }
  Producer* producer = nullptr;
  bool allowed = false;
  if (publisher) {
    for (auto& p : publisher->producers()) {
      if (p->kind == consumer.kind && p->codec == consumer.codec) producer = p.get();
    }
    allowed = rules_.allows(sub.inviteId, publisher->spec().inviteId);
  }
  if (producer != consumer.producer) {
    if (consumer.producer) std::erase(consumer.producer->consumers, &consumer);
    consumer.producer = producer;
    if (producer) {
      producer->consumers.push_back(&consumer);
      consumer.extMap.fill(0);
      if (producer->ext.audioLevel && consumer.ext.audioLevel) {
        consumer.extMap[producer->ext.audioLevel] = consumer.ext.audioLevel;
      }
      // The publisher's transport-wide sequence number element becomes ours (rewritten per
      // packet in forward): no byte moves for a browser's packets.
      if (subscriber.downlink() && producer->ext.transportWideCc) {
        consumer.extMap[producer->ext.transportWideCc] = subscriber.transportCcExtensionId();
      }
    }
    consumer.waitingKeyframe = true;
    if (consumer.started) {
      // Continuity across a producer's restart (RtpSeqTsRewriter::switchSource): leave a gap of
      // the elapsed time on the consumer's clock.
      const uint64_t elapsed = ctx_.nowMs() - consumer.lastPacketMs;
      consumer.rewriter.switchSource(
          std::max<uint32_t>(1, static_cast<uint32_t>(elapsed * consumer.clockRate / 1000)));
      consumer.vp8.switchSource();
      consumer.started = false;
    }
  }
  const bool becameAllowed = allowed && !consumer.allowed;
  if (becameAllowed) consumer.waitingKeyframe = true;
  consumer.allowed = allowed;
  if (producer && allowed && (becameAllowed || !consumer.started) && !consumer.paused &&
      consumer.kind == sdp::MediaKind::kVideo && subscriber.transport().connected()) {
    requestKeyframe(*producer);
  }
}

void ForwardingRoom::restartVideo(ParticipantSession& subscriber) {
  for (auto& c : subscriber.consumers()) {
    if (c->kind != sdp::MediaKind::kVideo || !c->producer || !c->allowed || c->paused) continue;
    c->waitingKeyframe = true;
    requestKeyframe(*c->producer);
  }
}

void ForwardingRoom::onConnected(ParticipantSession& session) {
  // A consumer starts: ask its producer for a keyframe so the first frame decodes at once.
  for (auto& c : session.consumers()) {
    if (c->producer && c->allowed && c->kind == sdp::MediaKind::kVideo) {
      requestKeyframe(*c->producer);
    }
  }
  for (auto& p : session.producers()) {
    if (p->kind == sdp::MediaKind::kVideo && !p->consumers.empty()) requestKeyframe(*p);
  }
}

void ForwardingRoom::onRtp(ParticipantSession& from, uint8_t* data, size_t len) {
  auto packet = RtpPacket::parse({data, len});
  if (!packet) {
    ctx_.metrics.dropped[DropReason::kMalformed].inc();
    return;
  }
  const auto nowUs = static_cast<int64_t>(uv_hrtime() / 1000);
  if (rtcp::TransportCcFeedback* twcc = from.transportCc()) {
    // Every packet of the transport counts, RTX and padding probes included: the sender's
    // estimator paces its probes by their feedback.
    if (auto seq = packet->transportWideSeq(from.transportCcExtensionId())) {
      twcc->onPacket(*seq, nowUs);
    }
    if (twcc->pendingCount() >= kTransportCcMaxPending ||
        static_cast<uint64_t>(nowUs) - from.lastTransportCcUs >= kTransportCcIntervalUs) {
      sendTransportCc(from, static_cast<uint64_t>(nowUs));
    }
  }
  if (DownlinkEstimator* uplink = from.uplink()) {
    // No transport-wide feedback: the relay estimates this uplink itself and says so by REMB.
    if (auto sent = packet->absSendTime(from.absSendTimeExtensionId())) {
      uplink->onAbsSendTime(*sent, nowUs, static_cast<uint32_t>(len));
      if (uplink->overuses() != from.uplinkDecreases) sendReceiverEstimate(from);
    }
  }
  bool isRtx = false;
  Producer* producer = from.findProducer(packet->ssrc(), packet->payloadType(), isRtx);
  if (!producer) {
    ctx_.metrics.dropped[DropReason::kUnknownSsrc].inc();
    return;
  }
  const uint8_t* fwd = data;
  size_t fwdLen = len;
  if (isRtx) {
    auto n = recoverFromRtx(*packet, producer->payloadType, producer->ssrc,
                            {ctx_.rtxScratch.data(), ctx_.rtxScratch.size()});
    if (!n) {
      ctx_.metrics.dropped[DropReason::kMalformed].inc();
      return;
    }
    if (*n <= kRtpHeaderSize) return;  // RTX padding probe: nothing to forward
    fwd = ctx_.rtxScratch.data();
    fwdLen = *n;
    producer->bytesSinceTick += fwdLen;  // a repair: not in the loss statistics
    if (producer->kind == sdp::MediaKind::kVideo) {
      auto original = RtpPacket::parse({ctx_.rtxScratch.data(), *n});
      if (!original) return;
      producer->nack.onPacket(producer->stats.peekUnwrapped(original->sequenceNumber()),
                              ctx_.nowMs(), true);
    }
  } else {
    onProducerPacket(*producer, *packet, nowUs);
  }
  for (Consumer* c : producer->consumers) forward(*producer, *c, fwd, fwdLen);
}

void ForwardingRoom::onProducerPacket(Producer& producer, const RtpPacket& packet, int64_t nowUs) {
  ++producer.packets;
  producer.bytesSinceTick += packet.size();
  const uint16_t seq = packet.sequenceNumber();
  if (producer.kind == sdp::MediaKind::kVideo) {
    const uint64_t nowMs = ctx_.nowMs();
    if (producer.lastVideoPacketMs != 0 && nowMs - producer.lastVideoPacketMs >= kFreezeGapMs) {
      ++producer.owner->quality.freezes;
      producer.owner->quality.freezeMs += static_cast<uint32_t>(nowMs - producer.lastVideoPacketMs);
    }
    producer.lastVideoPacketMs = nowMs;
    if ((producer.keyframeInFlight || producer.keyframePending) &&
        startsKeyframe(producer.codec, packet.payload())) {
      // The answer to the request in flight, and to every wish made meanwhile: each consumer
      // of the producer receives this keyframe.
      producer.keyframeInFlight = false;
      producer.keyframePending = false;
    } else if (producer.keyframePending &&
               nowMs - producer.lastKeyframeRequestMs >= kKeyframeRequestTimeoutMs) {
      requestKeyframe(producer);  // the request in flight timed out
    }
    if (!producer.nack.onPacket(producer.stats.peekUnwrapped(seq), nowMs, false)) {
      requestKeyframe(producer);  // too much lost to repair packet by packet
    }
    sendNacks(producer, nowMs);
  }
  producer.stats.onPacket(seq, packet.timestamp(), nowUs, producer.clockRate);
}

// Loss towards us (RFC 4585 §6.2.1): what the NACK generator says is due, at once for a new
// gap and again every retry interval until repaired.
void ForwardingRoom::sendNacks(Producer& producer, uint64_t nowMs) {
  if (producer.nack.missingCount() == 0) return;
  std::array<uint16_t, 64> lost{};
  const size_t n = producer.nack.takeDue(nowMs, lost);
  if (n == 0) return;
  auto w = rtcp::writeNack({ctx_.rtcpScratch.data(), ctx_.rtcpScratch.size() - 64}, kRelaySsrc,
                           producer.ssrc, {lost.data(), n});
  if (w &&
      producer.owner->transport().sendRtcp(ctx_.rtcpScratch.data(), *w, ctx_.rtcpScratch.size())) {
    ctx_.metrics.nacks[MDir::kOut].inc();
  }
}

void ForwardingRoom::sendTransportCc(ParticipantSession& session, uint64_t nowUs) {
  rtcp::TransportCcFeedback* twcc = session.transportCc();
  if (twcc == nullptr || !session.transport().connected()) return;
  session.lastTransportCcUs = nowUs;
  // The media source field names any stream of the transport (the feedback is transport-wide).
  const uint32_t media = session.producers().empty() ? 0 : session.producers().front()->ssrc;
  auto& out = ctx_.rtcpScratch;
  while (twcc->pending()) {
    auto w = twcc->write({out.data(), out.size() - 64}, kRelaySsrc, media);
    if (!w) break;
    if (!session.transport().sendRtcp(out.data(), *w, out.size())) break;
    ctx_.metrics.transport_cc_feedback.inc();
  }
}

void ForwardingRoom::forward(Producer& producer, Consumer& c, const uint8_t* data, size_t len) {
  if (!c.allowed || !c.owner->transport().connected()) {
    ctx_.metrics.dropped[DropReason::kNotConnected].inc();
    return;
  }
  if (c.paused) return;  // audio first: the subscriber's downlink carries no video now
  const uint64_t t0 = uv_hrtime();
  uint8_t* buf = ctx_.scratch.data();
  if (len + WebRtcTransport::kMaxTrailer > ctx_.scratch.size()) {
    ctx_.metrics.dropped[DropReason::kTooLarge].inc();
    return;
  }
  std::memcpy(buf, data, len);
  auto packet = RtpPacket::parse({buf, len});
  if (!packet) return;
  if (c.waitingKeyframe && c.kind == sdp::MediaKind::kVideo) {
    // A new or re-bound video consumer starts at a keyframe (the first packet of one): a decoder
    // that starts on a delta frame shows garbage or nothing until the next keyframe anyway.
    if (!startsKeyframe(c.codec, packet->payload())) {
      ctx_.metrics.dropped[DropReason::kWaitingKeyframe].inc();
      return;
    }
    c.waitingKeyframe = false;
  }
  auto out = c.rewriter.rewrite(packet->sequenceNumber(), packet->timestamp());
  if (!out) {
    ctx_.metrics.dropped[DropReason::kOther].inc();  // older than the current source's start
    return;
  }
  c.lastInTs = packet->timestamp();
  c.lastOutTs = out->timestamp;
  if (c.codec == sdp::Codec::kVp8) {
    const auto payload = packet->payload();
    c.vp8.rewrite({buf + (payload.data() - buf), payload.size()});
  }
  packet->setSsrc(c.ssrc);
  packet->setPayloadType(c.payloadType);
  packet->setSequenceNumber(out->sequence);
  packet->setTimestamp(out->timestamp);
  if (packet->extensionForm() == ExtensionForm::kOneByte ||
      packet->extensionForm() == ExtensionForm::kTwoByte) {
    if (!packet->remapExtensionIds(c.extMap)) {
      ctx_.metrics.dropped[DropReason::kMalformed].inc();
      return;
    }
  }
  stampTransportWide(*c.owner, buf, len, ctx_.scratch.size(), static_cast<int64_t>(t0 / 1000));
  if (c.rtx) c.rtx->store(out->sequence, {buf, len}, ctx_.nowMs());
  const uint64_t nowMs = ctx_.nowMs();
  if (c.kind == sdp::MediaKind::kVideo && c.started && nowMs - c.lastPacketMs >= kFreezeGapMs) {
    ++c.owner->quality.freezes;
    c.owner->quality.freezeMs += static_cast<uint32_t>(nowMs - c.lastPacketMs);
  }
  c.started = true;
  c.lastPacketMs = nowMs;
  ++c.packets;
  c.octets += packet->payload().size();
  (void)producer;
  if (c.owner->transport().sendRtp(buf, len, ctx_.scratch.size())) {
    ctx_.metrics.forwarded(uv_hrtime() - t0);
  }
  if (c.kind == sdp::MediaKind::kAudio && c.owner->videoPause.probing) {
    sendProbe(*c.owner, static_cast<int64_t>(t0 / 1000));  // paced by the audio packets
  }
}

// Our transport-wide sequence number towards a subscriber (docs/media.md "Subscriber
// downlink"): in the element the packet already carries, else in one added here.
void ForwardingRoom::stampTransportWide(ParticipantSession& subscriber, uint8_t* buf, size_t& len,
                                        size_t capacity, int64_t nowUs) {
  DownlinkEstimator* downlink = subscriber.downlink();
  if (downlink == nullptr) return;
  const uint8_t id = subscriber.transportCcExtensionId();
  auto packet = RtpPacket::parse({buf, len});
  if (!packet) return;
  if (!packet->findExtension(id)) {
    const uint8_t placeholder[2] = {0, 0};
    auto grown =
        addHeaderExtension({buf, capacity - WebRtcTransport::kMaxTrailer}, len, id, placeholder);
    if (!grown) return;  // sent without: the feedback will not cover it
    len = *grown;
    packet = RtpPacket::parse({buf, len});
    if (!packet) return;
  }
  packet->setTransportWideSeq(id, downlink->onPacketSent(nowUs, static_cast<uint32_t>(len)));
}

// Padding-only packets on the subscriber's video RTX stream (RFC 3550 §5.1 padding, RFC 4588:
// an RTX packet without an original sequence number carries nothing to restore) at the probe
// rate, a few each time an audio packet goes out. The receiver drops them after its
// transport-wide feedback has counted them.
void ForwardingRoom::sendProbe(ParticipantSession& s, int64_t nowUs) {
  ParticipantSession::VideoPause& vp = s.videoPause;
  const int64_t elapsedUs = nowUs - vp.probeStartUs;
  if (elapsedUs < 0 || static_cast<uint64_t>(elapsedUs) > kProbeMs * 1000) return;
  Consumer* video = probeStream(s);
  if (video == nullptr) return;
  const uint64_t owed =
      probeBps() * static_cast<uint64_t>(elapsedUs) / 8 / 1'000'000;  // bytes by now
  uint8_t* buf = ctx_.rtxScratch.data();
  for (int sent = 0; sent < 8 && vp.probeBytes + kRtpHeaderSize < owed; ++sent) {
    const size_t pad = std::clamp<uint64_t>(owed - vp.probeBytes, 1, 255);
    std::memset(buf, 0, kRtpHeaderSize + pad);
    buf[0] = 0xA0;  // V=2, P=1
    buf[1] = static_cast<uint8_t>(video->rtxPayloadType);
    storeBe16(buf + 2, video->rtxSequence++);
    storeBe32(buf + 4, video->lastOutTs);
    storeBe32(buf + 8, video->rtxSsrc);
    buf[kRtpHeaderSize + pad - 1] = static_cast<uint8_t>(pad);
    size_t len = kRtpHeaderSize + pad;
    stampTransportWide(s, buf, len, ctx_.rtxScratch.size(), nowUs);
    if (!s.transport().sendRtp(buf, len, ctx_.rtxScratch.size())) return;
    vp.probeBytes += len;
  }
}

Consumer* ForwardingRoom::probeStream(ParticipantSession& s) {
  for (auto& c : s.consumers()) {
    if (c->kind == sdp::MediaKind::kVideo && c->rtxSsrc != 0 && c->rtxPayloadType >= 0) {
      return c.get();
    }
  }
  return nullptr;
}

// Audio first, once a second per subscriber: below the floor for kPauseAfterMs → pause its
// video; while paused, probe (or, without transport-wide feedback or RTX, try video again) after
// a back-off that doubles with every failure up to kMaxProbeBackoffMs.
void ForwardingRoom::updateVideoPause(ParticipantSession& s, uint64_t now) {
  const uint64_t floor = ctx_.videoFloorBps;
  ParticipantSession::VideoPause& vp = s.videoPause;
  const bool hasVideo = std::any_of(s.consumers().begin(), s.consumers().end(), [](auto& c) {
    return c->kind == sdp::MediaKind::kVideo && c->producer != nullptr && c->allowed;
  });
  if (!vp.paused) {
    const uint64_t limit = s.receiveLimitBps();
    if (floor == 0 || !hasVideo || limit == 0 || limit >= floor) {
      vp.belowFloorSinceMs = 0;
    } else if (vp.belowFloorSinceMs == 0) {
      vp.belowFloorSinceMs = now;
    } else if (now - vp.belowFloorSinceMs >= kPauseAfterMs) {
      pauseVideo(s, now);
    }
    return;
  }
  DownlinkEstimator* downlink = s.downlink();
  if (vp.probing) {
    if (now - vp.probeStartMs < kProbeMs + kProbeFeedbackMs) return;
    vp.probing = false;
    if (downlink != nullptr && downlink->overuses() == vp.overusesAtProbe &&
        vp.probeAckedBps >= probeBps() * 4 / 5) {
      downlink->onProbe(vp.probeAckedBps);
      resumeVideo(s, now);
      return;
    }
    ctx_.metrics.video_flow[metrics::VideoFlow::kProbeFailed].inc();
    vp.backoffMs = std::min(vp.backoffMs * 2, kMaxProbeBackoffMs);
    vp.nextProbeMs = now + vp.backoffMs;
    return;
  }
  if (floor == 0 || !hasVideo) {
    resumeVideo(s, now);  // nothing to pause any more (floor off, producer gone)
    return;
  }
  if (now < vp.nextProbeMs) return;
  if (downlink != nullptr && probeStream(s) != nullptr) {
    vp.probing = true;
    vp.probeStartMs = now;
    vp.probeStartUs = static_cast<int64_t>(uv_hrtime() / 1000);
    vp.probeBytes = 0;
    vp.probeAckedBps = 0;
    vp.overusesAtProbe = downlink->overuses();
    return;
  }
  resumeVideo(s, now);  // no way to probe: try the video itself; it pauses again if too much
}

void ForwardingRoom::pauseVideo(ParticipantSession& s, uint64_t now) {
  ParticipantSession::VideoPause& vp = s.videoPause;
  for (auto& c : s.consumers()) {
    if (c->kind == sdp::MediaKind::kVideo) c->paused = true;
  }
  vp.paused = true;
  vp.belowFloorSinceMs = 0;
  // Paused again soon after a resume: the link is not better yet, wait longer.
  const bool again = vp.lastResumeMs != 0 && now - vp.lastResumeMs < kMaxProbeBackoffMs;
  vp.backoffMs = again
                     ? std::min(std::max(vp.backoffMs, kFirstProbeAfterMs) * 2, kMaxProbeBackoffMs)
                     : kFirstProbeAfterMs;
  vp.nextProbeMs = now + vp.backoffMs;
  ctx_.metrics.video_flow[metrics::VideoFlow::kPaused].inc();
  callbacks_.onVideoPaused(s, true);
  // Audio alone is no reason to hold its publishers down.
  limitPublishersOf(s, true);
}

void ForwardingRoom::resumeVideo(ParticipantSession& s, uint64_t now) {
  ParticipantSession::VideoPause& vp = s.videoPause;
  vp.paused = false;
  vp.probing = false;
  vp.lastResumeMs = now;
  vp.belowFloorSinceMs = 0;
  for (auto& c : s.consumers()) {
    if (c->kind != sdp::MediaKind::kVideo || !c->paused) continue;
    c->paused = false;
    c->waitingKeyframe = true;  // what was skipped cannot be decoded from: start at a keyframe
    if (c->producer != nullptr && c->allowed) requestKeyframe(*c->producer);
  }
  ctx_.metrics.video_flow[metrics::VideoFlow::kResumed].inc();
  callbacks_.onVideoPaused(s, false);
  limitPublishersOf(s, true);
}

void ForwardingRoom::requestKeyframe(Producer& producer) {
  const uint64_t now = ctx_.nowMs();
  if (producer.ssrc == 0 || !producer.owner->transport().connected()) {
    producer.keyframePending = true;
    return;
  }
  if (producer.keyframeInFlight &&
      now - producer.lastKeyframeRequestMs < kKeyframeRequestTimeoutMs) {
    producer.keyframePending = true;  // answered by the keyframe on its way, or sent at timeout
    return;
  }
  auto& out = ctx_.rtcpScratch;
  // PLI (RFC 4585 §6.3.1) unless only FIR was negotiated (RFC 5104 §4.3.1).
  const bool fir = producer.firOnly;
  auto w = fir ? rtcp::writeFir({out.data(), out.size() - 64}, kRelaySsrc, producer.ssrc,
                                ++producer.firSequence)
               : rtcp::writePli({out.data(), out.size() - 64}, kRelaySsrc, producer.ssrc);
  if (!w) return;
  if (producer.owner->transport().sendRtcp(out.data(), *w, out.size())) {
    producer.lastKeyframeRequestMs = now;
    producer.keyframeInFlight = true;
    producer.keyframePending = false;
    ctx_.metrics
        .keyframe_requests[fir ? metrics::KeyframeRequest::kFir : metrics::KeyframeRequest::kPli]
                          [MDir::kOut]
        .inc();
  }
}

void ForwardingRoom::onRtcp(ParticipantSession& from, uint8_t* data, size_t len) {
  if (from.publishes()) {
    onProducerRtcp(from, data, len);
  } else {
    onConsumerRtcp(from, data, len);
  }
}

void ForwardingRoom::onProducerRtcp(ParticipantSession& from, uint8_t* data, size_t len) {
  auto compound = rtcp::Compound::parse({data, len});
  if (!compound) {
    ctx_.metrics.dropped[DropReason::kMalformed].inc();
    return;
  }
  for (const rtcp::Item item : *compound) {
    if (item.type() != rtcp::type::kSr) continue;
    auto report = rtcp::Report::parse(item);
    if (!report) continue;
    auto info = report->senderInfo();
    if (!info) continue;
    bool isRtx = false;
    Producer* p = from.findProducer(info->ssrc, 255, isRtx);
    if (!p || isRtx) continue;
    p->lastSrMiddle = static_cast<uint32_t>(info->ntp >> 16);
    p->lastSrMs = ctx_.nowMs();
    // A sender report per consumer in its own SSRC and timestamp space (RFC 3550 §6.4.1).
    for (Consumer* c : p->consumers) {
      if (!c->allowed || !c->started || !c->owner->transport().connected()) continue;
      rtcp::SenderInfo si;
      si.ssrc = c->ssrc;
      si.ntp = info->ntp;
      si.rtpTimestamp = info->rtpTimestamp + (c->lastOutTs - c->lastInTs);
      si.packetCount = static_cast<uint32_t>(c->packets);
      si.octetCount = static_cast<uint32_t>(c->octets);
      auto& out = ctx_.rtcpScratch;
      auto w = rtcp::writeSenderReport({out.data(), out.size() - 64}, si, {});
      if (w && c->owner->transport().sendRtcp(out.data(), *w, out.size())) {
        c->lastSrLsr = static_cast<uint32_t>(si.ntp >> 16);
        c->lastSrSentMs = ctx_.nowMs();
      }
    }
  }
}

void ForwardingRoom::onConsumerRtcp(ParticipantSession& from, uint8_t* data, size_t len) {
  auto compound = rtcp::Compound::parse({data, len});
  if (!compound) {
    ctx_.metrics.dropped[DropReason::kMalformed].inc();
    return;
  }
  for (const rtcp::Item item : *compound) {
    if (item.type() == rtcp::type::kRr || item.type() == rtcp::type::kSr) {
      onConsumerReport(from, item);
      continue;
    }
    if (item.type() != rtcp::type::kRtpfb && item.type() != rtcp::type::kPsfb) continue;
    auto fb = rtcp::Feedback::parse(item);
    if (!fb) continue;
    Consumer* c = from.findConsumer(fb->mediaSsrc());
    if (item.type() == rtcp::type::kPsfb &&
        (fb->fmt() == rtcp::fmt::kPli || fb->fmt() == rtcp::fmt::kFir)) {
      const bool fir = fb->fmt() == rtcp::fmt::kFir;
      if (fir) {
        auto f = rtcp::Fir::parse(*fb);
        if (f && f->entryCount() > 0) c = from.findConsumer(f->entry(0).ssrc);
      }
      ctx_.metrics
          .keyframe_requests[fir ? metrics::KeyframeRequest::kFir : metrics::KeyframeRequest::kPli]
                            [MDir::kIn]
          .inc();
      if (c && c->producer && c->allowed) requestKeyframe(*c->producer);
    } else if (item.type() == rtcp::type::kRtpfb && fb->fmt() == rtcp::fmt::kNack) {
      auto nack = rtcp::Nack::parse(*fb);
      if (!nack || !c) continue;
      ctx_.metrics.nacks[MDir::kIn].inc();
      std::array<uint16_t, 17 * 16> lost{};
      const size_t n = std::min(nack->lostSequences(lost), lost.size());
      for (size_t i = 0; i < n; ++i) retransmit(*c, lost[i]);
    }
    if (item.type() == rtcp::type::kRtpfb && fb->fmt() == rtcp::fmt::kTransportCc) {
      auto feedback = rtcp::TransportCc::parse(*fb);
      if (!feedback || from.downlink() == nullptr) continue;
      const uint64_t decreases = from.downlink()->overuses();
      from.downlink()->onFeedback(*feedback, static_cast<int64_t>(uv_hrtime() / 1000));
      if (from.downlink()->overuses() != decreases) ctx_.metrics.downlink_overuse.inc();
      if (from.videoPause.probing) {
        // The most the subscriber acknowledged while the probe ran (its window is a second).
        from.videoPause.probeAckedBps =
            std::max(from.videoPause.probeAckedBps, from.downlink()->ackedBps());
      }
      limitPublishersOf(from, false);
    }
    if (item.type() == rtcp::type::kPsfb && fb->fmt() == rtcp::fmt::kAfb) {
      // The subscriber's own receive estimate (draft-alvestrand-rmcat-remb-03): what it can take
      // when it runs no transport-wide feedback.
      if (auto remb = rtcp::Remb::parse(*fb)) {
        from.rembBps = remb->bitrate();
        if (from.downlink() == nullptr) limitPublishersOf(from, false);
      }
    }
  }
}

// What a publisher without transport-wide feedback may send (draft-alvestrand-rmcat-remb-03):
// the goodput ramp while nothing bounds its uplink estimate, never more than that estimate
// once something does, and never more than its subscribers' bottleneck.
uint64_t ForwardingRoom::receiverEstimate(ParticipantSession& publisher, uint64_t goodputBps) {
  uint64_t estimate = rembEstimate(goodputBps);
  if (DownlinkEstimator* uplink = publisher.uplink(); uplink != nullptr && uplink->bounded()) {
    estimate = std::min(estimate, uplink->estimateBps());
  }
  const uint64_t limit = senderLimit(publisher);
  return limit != 0 ? std::min(limit, estimate) : estimate;
}

// The uplink estimate fell: the publisher hears of it at once, not at the next report.
void ForwardingRoom::sendReceiverEstimate(ParticipantSession& publisher) {
  publisher.uplinkDecreases = publisher.uplink()->overuses();
  if (!publisher.remb() || !publisher.transport().connected()) return;
  sendRemb(publisher, receiverEstimate(publisher, publisher.uplink()->ackedBps()));
}

// One REMB (draft-alvestrand-rmcat-remb-03 §2) for every stream the publisher sends.
bool ForwardingRoom::sendRemb(ParticipantSession& publisher, uint64_t bps) {
  std::array<uint32_t, 4> ssrcs{};
  size_t n = 0;
  for (auto& p : publisher.producers()) {
    if (p->ssrc != 0 && n < ssrcs.size()) ssrcs[n++] = p->ssrc;
  }
  if (n == 0) return false;
  auto& out = ctx_.rtcpScratch;
  auto w = rtcp::writeRemb({out.data(), out.size() - 64}, kRelaySsrc, bps, {ssrcs.data(), n});
  return w && publisher.transport().sendRtcp(out.data(), *w, out.size());
}

void ForwardingRoom::limitPublishersOf(ParticipantSession& subscriber, bool refresh) {
  ParticipantSession* done = nullptr;
  for (auto& c : subscriber.consumers()) {
    if (c->producer == nullptr || c->producer->owner == done) continue;
    done = c->producer->owner;
    limitSender(*done, refresh);
  }
}

uint64_t ForwardingRoom::senderLimit(ParticipantSession& publisher) const {
  uint64_t limit = 0;
  for (ParticipantSession* s : sessions_) {
    if (s->publishes() || s->ended() || !s->transport().connected()) continue;
    if (s->videoPause.paused) continue;  // it takes audio only: no reason to limit the video
    const bool receives = std::any_of(s->consumers().begin(), s->consumers().end(), [&](auto& c) {
      return c->allowed && c->producer != nullptr && c->producer->owner == &publisher;
    });
    const uint64_t l = receives ? s->receiveLimitBps() : 0;
    if (l != 0 && (limit == 0 || l < limit)) limit = l;
  }
  return limit;
}

// The bottleneck of a publisher's subscribers as REMB (draft-alvestrand-rmcat-remb-03 §2): a
// browser's congestion controller keeps its target at or below the last REMB it received, also
// when it runs on transport-wide feedback, so a patient's thin downlink makes the doctor's
// encoder send what the patient can receive instead of overflowing the patient's queue. A lower
// limit goes out at once; the limit is repeated with each receiver report (`refresh`), and once
// nothing limits the publisher any more a last REMB of kMaxBps lifts the old one.
void ForwardingRoom::limitSender(ParticipantSession& publisher, bool refresh) {
  if (publisher.ended() || !publisher.transport().connected()) return;
  uint64_t limit = senderLimit(publisher);
  const uint64_t last = publisher.senderLimitBps;
  if (limit == 0) {
    if (last == 0 || last == DownlinkEstimator::kMaxBps) return;
    limit = DownlinkEstimator::kMaxBps;
  } else if (!refresh && last != 0 && limit + limit / 20 >= last) {
    return;  // not lower by 5 %: the next receiver report carries it
  }
  if (sendRemb(publisher, limit)) {
    if (limit < last || last == 0) ctx_.metrics.sender_limits.inc();
    publisher.senderLimitBps = limit;
    publisher.senderLimitSentMs = ctx_.nowMs();
  }
}

// A subscriber's report block about one of our streams gives its round trip: now − the send time
// of the SR it names (LSR) − the delay it says it held that SR (DLSR, 1/65536 s), RFC 3550 §6.4.1.
void ForwardingRoom::onConsumerReport(ParticipantSession& from, const rtcp::Item& item) {
  auto report = rtcp::Report::parse(item);
  if (!report) return;
  const uint64_t now = ctx_.nowMs();
  for (size_t i = 0; i < report->blockCount(); ++i) {
    const rtcp::ReportBlock b = report->block(i);
    for (auto& c : from.consumers()) {
      if (c->ssrc == b.ssrc) {
        c->reportedFractionLost = b.fractionLost;
        c->reportedJitter = b.jitter;
      }
      if (c->ssrc != b.ssrc || b.lastSr == 0 || b.lastSr != c->lastSrLsr) continue;
      const uint64_t held = uint64_t{b.delaySinceLastSr} * 1000 / 65536;
      const uint64_t elapsed = now - c->lastSrSentMs;
      if (elapsed < held) break;  // clocks disagree by less than a millisecond: no sample
      const uint64_t sample = std::max<uint64_t>(1, elapsed - held);
      c->rttMs = c->rttMs == 0 ? sample : (7 * c->rttMs + sample) / 8;
      break;
    }
  }
}

void ForwardingRoom::retransmit(Consumer& c, uint16_t seq) {
  if (!c.rtx || !c.owner->transport().connected()) return;
  const uint64_t now = ctx_.nowMs();
  auto stored = c.rtx->find(seq, now, kRtxMaxAgeMs);
  if (stored.empty()) {
    ctx_.metrics.dropped[DropReason::kOther].inc();
    return;
  }
  // One repair per packet per round trip (a subscriber repeats its NACK until the repair lands).
  const uint64_t interval = c.rttMs != 0 ? c.rttMs : kDefaultResendIntervalMs;
  if (!c.rtx->markResent(seq, now, interval)) {
    ctx_.metrics.retransmissions_suppressed.inc();
    return;
  }
  uint8_t* buf = ctx_.rtxScratch.data();
  size_t len = 0;
  if (c.rtxPayloadType >= 0 && c.rtxSsrc != 0) {
    std::memcpy(ctx_.scratch.data(), stored.data(), stored.size());
    auto original = RtpPacket::parse({ctx_.scratch.data(), stored.size()});
    if (!original) return;
    auto n = buildRtx(*original, static_cast<uint8_t>(c.rtxPayloadType), c.rtxSsrc, c.rtxSequence++,
                      {buf, ctx_.rtxScratch.size() - WebRtcTransport::kMaxTrailer});
    if (!n) return;
    len = *n;
  } else {
    std::memcpy(buf, stored.data(), stored.size());  // RFC 4585 without RTX: resend as is
    len = stored.size();
  }
  // A repair is a packet of the transport like any other: a sequence number of its own.
  stampTransportWide(*c.owner, buf, len, ctx_.rtxScratch.size(),
                     static_cast<int64_t>(uv_hrtime() / 1000));
  if (c.owner->transport().sendRtp(buf, len, ctx_.rtxScratch.size())) {
    ctx_.metrics.retransmissions.inc();
  }
}

void ForwardingRoom::tick() {
  const uint64_t now = ctx_.nowMs();
  // A video consumer that has not seen a keyframe yet asks again (the first PLI may have gone
  // to an encoder that had not started).
  for (ParticipantSession* s : sessions_) {
    if (s->publishes() || !s->transport().connected()) continue;
    uint64_t bits = 0;
    for (auto& c : s->consumers()) {
      if (c->waitingKeyframe && c->allowed && c->producer && !c->paused &&
          c->kind == sdp::MediaKind::kVideo) {
        requestKeyframe(*c->producer);
      }
      // What this subscriber received of the last second, as its receiver reports tell.
      bits += (c->octets - c->octetsAtTick) * 8;
      c->octetsAtTick = c->octets;
      SessionQuality& q = s->quality;
      q.lossFraction = std::max(q.lossFraction, c->reportedFractionLost / 256.0);
      if (c->clockRate != 0) {
        q.jitterMs = std::max(
            q.jitterMs, static_cast<uint32_t>(uint64_t{c->reportedJitter} * 1000 / c->clockRate));
      }
      q.rttMs = std::max(q.rttMs, static_cast<uint32_t>(c->rttMs));
    }
    s->quality.bitrateBps = bits;
    s->quality.estimateBps = s->receiveLimitBps();
    updateVideoPause(*s, now);
  }
  for (ParticipantSession* s : sessions_) {
    if (!s->publishes() || !s->transport().connected()) continue;
    // Whatever transport-wide feedback is still owed (the stream may have paused).
    if (s->transportCc() && s->transportCc()->pending()) sendTransportCc(*s, uv_hrtime() / 1000);
    std::array<rtcp::ReportBlock, 4> blocks{};
    double tickLoss = 0;
    std::array<uint32_t, 4> ssrcs{};
    size_t n = 0;
    uint64_t bits = 0;
    for (auto& p : s->producers()) {
      if (p->ssrc == 0 || n == blocks.size()) continue;
      // RFC 3550 §6.4.1: loss, extended highest sequence and jitter as received, then the
      // time since the stream's last SR for the sender's round-trip estimate.
      rtcp::ReportBlock& b = blocks[n];
      b = p->stats.report(p->ssrc);
      b.lastSr = p->lastSrMiddle;
      b.delaySinceLastSr =
          p->lastSrMs ? static_cast<uint32_t>((now - p->lastSrMs) * 65536 / 1000) : 0;
      ssrcs[n++] = p->ssrc;
      bits += p->bytesSinceTick * 8;
      p->bytesSinceTick = 0;
      s->quality.lossFraction = std::max(s->quality.lossFraction, b.fractionLost / 256.0);
      tickLoss = std::max(tickLoss, b.fractionLost / 256.0);
      if (p->clockRate != 0) {
        s->quality.jitterMs = std::max(
            s->quality.jitterMs, static_cast<uint32_t>(uint64_t{b.jitter} * 1000 / p->clockRate));
      }
      if (p->keyframePending) requestKeyframe(*p);
    }
    s->quality.bitrateBps = bits;
    if (n == 0) continue;
    auto& out = ctx_.rtcpScratch;
    auto rr =
        rtcp::writeReceiverReport({out.data(), out.size() - 64}, kRelaySsrc, {blocks.data(), n});
    if (!rr) continue;
    size_t len = *rr;
    // A sender with transport-wide feedback runs its own estimator on it; REMB only for the
    // others (draft-alvestrand-rmcat-remb-03), from the receive rate.
    const bool goodputRemb = s->transportCc() == nullptr && s->remb();
    if (DownlinkEstimator* uplink = s->uplink()) {
      uplink->onLossFraction(tickLoss, static_cast<int64_t>(uv_hrtime() / 1000));
      s->uplinkDecreases = uplink->overuses();
    }
    if (goodputRemb) {
      auto remb = rtcp::writeRemb({out.data() + len, out.size() - 64 - len}, kRelaySsrc,
                                  receiverEstimate(*s, bits), {ssrcs.data(), n});
      if (remb) len += *remb;
    }
    s->transport().sendRtcp(out.data(), len, out.size());
    if (!goodputRemb) limitSender(*s, true);
  }
}

}  // namespace medrelay::media
