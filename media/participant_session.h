#pragma once
// One WHIP (publish) or WHEP (subscribe) session on a media worker: its WebRtcTransport and the
// Producers (tracks it publishes) or Consumers (tracks it receives) of its ForwardingRoom
// (docs/media.md).
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/downlink_estimator.h"
#include "media/rtp/nack_generator.h"
#include "media/rtp/receive_statistics.h"
#include "media/rtp/rtp_codecs.h"
#include "media/rtp/rtp_sequence.h"
#include "media/rtp/transport_cc_feedback.h"
#include "media/rtx_buffer.h"
#include "media/sdp/negotiator.h"
#include "media/webrtc_transport.h"

namespace medrelay::media {

class ForwardingRoom;
class ParticipantSession;
struct Consumer;

// Data channel limits of every session (server config media.datachannel_*; docs/media.md
// "Data channels").
struct DataChannelLimits {
  bool enabled = true;             // answer m=application sections (RFC 8841)
  size_t maxMessageSize = 65536;   // larger messages are refused and their channel closed
  double messagesPerSecond = 20;   // per session, burst of one second's worth
  double bytesPerSecond = 262144;  // per session, burst of max(one second, one message)
};

// What every session of one worker shares.
struct WorkerContext {
  net::Dispatcher& dispatcher;
  WorkerTransport& transport;
  DtlsContext& dtls;
  metrics::MediaWorkerMetrics& metrics;
  uint64_t videoFloorBps = 0;  // Router::Options::videoFloorBps
  // Per-packet scratch (one thread): a forwarded copy plus room for the SRTP trailer.
  std::array<uint8_t, 4096 + WebRtcTransport::kMaxTrailer> scratch{};
  std::array<uint8_t, 4096 + WebRtcTransport::kMaxTrailer> rtxScratch{};
  std::array<uint8_t, 1500> rtcpScratch{};
  DataChannelLimits dataChannels{};
  std::string chatScratch{};  // the envelope being delivered
  uint64_t nowMs() { return dispatcher.nowMs(); }
};

// A track a publisher sends us (one m= section of its offer).
struct Producer {
  ParticipantSession* owner = nullptr;
  sdp::MediaKind kind = sdp::MediaKind::kAudio;
  sdp::Codec codec = sdp::Codec::kNone;
  uint8_t payloadType = 0;
  uint32_t clockRate = 90000;
  uint32_t ssrc = 0;  // 0 until announced or learned from the payload type
  uint32_t rtxSsrc = 0;
  int rtxPayloadType = -1;
  sdp::HeaderExtensionIds ext;
  std::vector<Consumer*> consumers;
  // Receive side (RR, NACK, REMB).
  ReceiveStatistics stats;
  NackGenerator nack;  // video
  uint64_t packets = 0;
  uint64_t bytesSinceTick = 0;
  uint32_t lastSrMiddle = 0;  // middle 32 bits of the last SR's NTP time (RFC 3550 §6.4.1)
  uint64_t lastSrMs = 0;
  // Keyframe requests (docs/media.md "Keyframes"): at most one in flight; it is answered by the
  // first packet of a keyframe or times out after kKeyframeRequestTimeoutMs, then the next may go.
  uint64_t lastVideoPacketMs = 0;  // freeze detection (kFreezeGapMs)
  uint64_t lastKeyframeRequestMs = 0;
  bool keyframeInFlight = false;
  bool keyframePending = false;  // wanted while one was in flight, or before the SSRC was known
  bool firOnly = false;          // the publisher negotiated ccm fir but not nack pli (RFC 5104)
  uint8_t firSequence = 0;       // RFC 5104 §4.3.1.1: one number per new request
};

// A track a subscriber receives from one Producer (one m= section of its offer).
struct Consumer {
  ParticipantSession* owner = nullptr;
  sdp::MediaKind kind = sdp::MediaKind::kAudio;
  sdp::Codec codec = sdp::Codec::kNone;
  uint8_t payloadType = 0;
  uint32_t ssrc = 0;
  uint32_t rtxSsrc = 0;
  int rtxPayloadType = -1;
  uint32_t clockRate = 90000;
  sdp::HeaderExtensionIds ext;
  std::array<uint8_t, 256> extMap{};  // producer's extension id → ours (0 erases)
  Producer* producer = nullptr;
  bool allowed = false;         // the room's ForwardingRules (waiting room)
  bool started = false;         // a packet was forwarded since the last (re)bind
  bool waitingKeyframe = true;  // video: no keyframe forwarded since the last (re)bind
  bool paused = false;          // video: audio first, the subscriber's downlink is too thin
  RtpSeqTsRewriter rewriter;
  Vp8PictureIdRewriter vp8;  // VP8 only
  uint16_t rtxSequence = 0;
  std::unique_ptr<RtxBuffer> rtx;  // video only
  uint32_t lastInTs = 0;
  uint32_t lastOutTs = 0;
  uint64_t lastPacketMs = 0;
  uint64_t packets = 0;
  uint64_t octets = 0;
  // Round trip to the subscriber (RFC 3550 §6.4.1): our last SR's LSR and send time, matched
  // against the LSR/DLSR of its receiver reports; 0 until measured.
  uint32_t lastSrLsr = 0;
  uint64_t lastSrSentMs = 0;
  uint64_t rttMs = 0;
  // The subscriber's last report block about this stream (RFC 3550 §6.4.1).
  uint8_t reportedFractionLost = 0;
  uint32_t reportedJitter = 0;  // RTP clock units
  uint64_t octetsAtTick = 0;
  Consumer(uint16_t seq, uint32_t ts) : rewriter(seq, ts) {}
};

struct SessionSpec {
  std::string sessionId;
  std::string roomId;
  std::string inviteId;
  // The participant's role as an opaque label ("doctor"): media only compares it with a
  // subscriber's targetRole; what a role may receive is in the room's ForwardingRules.
  std::string role;
  bool publish = true;
  // Subscribe: whose media (an invite id, else the newest publisher with this role label).
  std::string targetInvite;
  std::string targetRole;
  WebRtcTransport::Params transport;
  sdp::NegotiatedSession negotiated;
};

// The transport half of a SessionSpec: our ICE credentials and the answer's negotiated remote ICE
// credentials, fingerprint (to pin, RFC 8122 §5) and DTLS role. Nullopt if the remote
// fingerprint does not parse.
std::optional<WebRtcTransport::Params> transportParams(const sdp::LocalTransport& local,
                                                       const sdp::NegotiatedSession& negotiated);

class ParticipantSession final : public WebRtcTransport::Listener {
 public:
  ParticipantSession(WorkerContext& ctx, ForwardingRoom& room, SessionSpec spec);
  Result<void> start() { return transport_.start(); }
  void close() { transport_.close(); }

  const SessionSpec& spec() const { return spec_; }
  const std::string& id() const { return spec_.sessionId; }
  bool publishes() const { return spec_.publish; }
  WebRtcTransport& transport() { return transport_; }
  std::vector<std::unique_ptr<Producer>>& producers() { return producers_; }
  std::vector<std::unique_ptr<Consumer>>& consumers() { return consumers_; }
  bool ended() const { return ended_; }
  SessionEndReason endReason() const { return endReason_; }
  // Liveness as last reported to the SessionObserver (Router::checkLiveness).
  bool reportedStale = false;
  // Quality over the current interval, filled by ForwardingRoom::tick and the packet path; the
  // Router reports and resets it.
  SessionQuality quality;
  uint64_t rembBps = 0;   // the subscriber's last REMB
  bool rtcpSeen = false;  // the peer sends RTCP (browsers: a report every second or so)

  // Transport-wide congestion control feedback towards this publisher, when its offer and our
  // answer negotiated both the transport-wide-cc header extension and rtcp-fb transport-cc
  // (draft-holmer-rmcat-transport-wide-cc-extensions-01 §4); nullptr otherwise.
  rtcp::TransportCcFeedback* transportCc() { return transportCc_.get(); }
  uint8_t transportCcExtensionId() const { return transportCcExtId_; }
  uint64_t lastTransportCcUs = 0;  // when the last feedback was sent
  // goog-remb negotiated on some media section (draft-alvestrand-rmcat-remb-03).
  bool remb() const { return remb_; }

  // Publisher without transport-wide feedback that negotiated goog-remb and abs-send-time: the
  // receive-side estimate of its uplink, sent to it as REMB; nullptr otherwise.
  DownlinkEstimator* uplink() { return uplink_.get(); }
  uint8_t absSendTimeExtensionId() const { return absSendTimeExtId_; }
  uint64_t uplinkDecreases = 0;  // uplink()->overuses() when the last REMB went out

  // Send-side estimation of this subscriber's downlink, when its offer and our answer negotiated
  // transport-wide-cc and rtcp-fb transport-cc: every packet we send it carries our
  // transport-wide sequence number under transportCcExtensionId(); nullptr otherwise.
  DownlinkEstimator* downlink() { return downlink_.get(); }
  // What this subscriber can take (bit/s), when something bounds it: the downlink estimate once
  // it is bounded, else the subscriber's own REMB; 0 when nothing is known.
  uint64_t receiveLimitBps() const {
    if (downlink_) return downlink_->bounded() ? downlink_->estimateBps() : 0;
    return rembBps;
  }
  // Subscriber, audio first (docs/media.md "Subscriber downlink"): video paused while the
  // downlink limit is below the floor; padding probes on the video's RTX stream test whether
  // the link carries video again, spaced by a growing back-off.
  struct VideoPause {
    bool paused = false;
    uint64_t belowFloorSinceMs = 0;
    uint64_t lastResumeMs = 0;
    uint64_t nextProbeMs = 0;
    uint64_t backoffMs = 0;
    bool probing = false;
    uint64_t probeStartMs = 0;
    int64_t probeStartUs = 0;
    uint64_t probeBytes = 0;
    uint64_t probeAckedBps = 0;
    uint64_t overusesAtProbe = 0;
  } videoPause;
  // Publisher: the limit last sent to it as REMB (0: none yet) and when.
  uint64_t senderLimitBps = 0;
  uint64_t senderLimitSentMs = 0;

  // The producer an incoming packet belongs to (primary or RTX SSRC); learns SSRCs from the
  // payload type when the offer announced none. isRtx tells which.
  Producer* findProducer(uint32_t ssrc, uint8_t payloadType, bool& isRtx);
  Consumer* findConsumer(uint32_t ssrc);

  // WebRtcTransport::Listener
  void onTransportConnected() override;
  void onTransportRtp(uint8_t* data, size_t len) override;
  void onTransportRtcp(uint8_t* data, size_t len) override;
  void onTransportFailed(SessionEndReason reason) override;
  void onDataChannelOpen(const DataChannel& channel) override;
  void onDataChannelMessage(const DataChannel& channel, bool binary, const uint8_t* data,
                            size_t len) override;
  void onDataChannelClosed(const DataChannel& channel) override;
  void onDataChannelRefused() override { ++dataTotals.refused; }

  // Data channels (docs/media.md "Data channels"): the stream of the participant's open `chat`
  // channel, if any; delivers one envelope on it (counted; false if it could not be sent).
  std::optional<uint16_t> chatStream() const { return chatStream_; }
  bool sendChat(std::string_view envelope);
  // Counts a refused message of this participant and tells it with a system notice (at most one
  // a second).
  void refuseData(metrics::DataChannelRefusal reason, std::string_view notice);
  DataChannelTotals dataTotals;
  DataChannelTotals reportedDataTotals;  // as last told to the SessionObserver

 private:
  bool takeTokens(size_t len);

  WorkerContext& ctx_;
  ForwardingRoom& room_;
  SessionSpec spec_;
  WebRtcTransport transport_;
  std::vector<std::unique_ptr<Producer>> producers_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::unique_ptr<rtcp::TransportCcFeedback> transportCc_;
  std::unique_ptr<DownlinkEstimator> downlink_;
  std::unique_ptr<DownlinkEstimator> uplink_;
  uint8_t absSendTimeExtId_ = 0;
  uint8_t transportCcExtId_ = 0;
  bool remb_ = false;
  bool ended_ = false;
  std::optional<uint16_t> chatStream_;
  double messageTokens_ = 0;
  double byteTokens_ = 0;
  uint64_t tokensAtMs_ = 0;
  bool tokensStarted_ = false;
  uint64_t lastNoticeMs_ = 0;
  bool noticeSent_ = false;
  SessionEndReason endReason_ = SessionEndReason::kCount;
};

}  // namespace medrelay::media
