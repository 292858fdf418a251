#pragma once
// A room's forwarding on its media worker (the router of docs/media.md): publish sessions bring
// Producers, subscribe sessions bring Consumers bound to one publisher's producers. An RTP packet
// is decrypted once, then copied, rewritten (SSRC, payload type, sequence, timestamp, extension
// ids) and encrypted per consumer. RTCP: PLI/FIR from consumers go to the producer (throttled),
// NACKs are answered from the consumer's RtxBuffer (once per packet per round trip), SRs are
// rewritten per consumer; towards publishers the room sends transport-wide congestion feedback
// every 50 ms, receiver reports once a second (REMB only without transport-cc) and NACKs from
// each video producer's NackGenerator. New video consumers start at a keyframe. All on one
// thread (docs/media.md "Congestion control", "Loss repair", "Keyframes").
#include <string>
#include <vector>

#include "media/forwarding_rules.h"
#include "media/participant_session.h"
#include "media/rtp/rtcp_packet.h"
#include "media/rtp/rtp_packet.h"

namespace medrelay::media {

class ForwardingRoom {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // DTLS-SRTP keys are in place on the session's transport.
    virtual void onSessionConnected(ParticipantSession& session) = 0;
    // The session's transport is gone (ICE or DTLS failed, consent lost, close_notify); the owner
    // removes it later.
    virtual void onSessionFailed(ParticipantSession& session, SessionEndReason reason) = 0;
    // Audio first: video to the subscribe session paused (true) or resumed.
    virtual void onVideoPaused(ParticipantSession& session, bool paused) = 0;
  };
  // A keyframe request not answered by the first packet of a keyframe within this is sent again
  // (the request or the keyframe was lost). Until then further wishes wait: asking again while
  // the keyframe is on its way only makes the encoder send another one, on the link that is
  // already slow.
  static constexpr uint64_t kKeyframeRequestTimeoutMs = 500;
  static constexpr uint32_t kRelaySsrc = 0x6d72656c;  // "mrel": sender SSRC of our own RTCP
  // Audio first (docs/media.md "Subscriber downlink"): below the video floor this long pauses a
  // subscriber's video; the first probe follows after kFirstProbeAfterMs, each failed one doubles
  // the wait up to kMaxProbeBackoffMs. A probe sends padding at 1.5 × the floor for kProbeMs and
  // is judged kProbeFeedbackMs later.
  static constexpr uint64_t kPauseAfterMs = 2000;
  static constexpr uint64_t kFirstProbeAfterMs = 2000;
  static constexpr uint64_t kMaxProbeBackoffMs = 30000;
  static constexpr uint64_t kProbeMs = 1000;
  static constexpr uint64_t kProbeFeedbackMs = 500;

  ForwardingRoom(std::string id, WorkerContext& ctx, Callbacks& callbacks);
  const std::string& id() const { return id_; }
  bool empty() const { return sessions_.empty(); }
  const ForwardingRules& forwardingRules() const { return rules_; }

  // Control path (posted from the control thread).
  void addSession(ParticipantSession& session);
  void removeSession(ParticipantSession& session);
  // Who may receive whom (the control plane's decision); re-binds every consumer, and a consumer
  // that becomes allowed waits for a keyframe it asks its producer for.
  void setForwardingRules(ForwardingRules rules);
  // Once a second: receiver reports and REMB to publishers.
  void tick();
  // A subscriber whose path came back after a silence (Router::checkLiveness): what it missed is
  // not worth repairing packet by packet, so its video consumers start again at a keyframe,
  // asked for at once.
  void restartVideo(ParticipantSession& subscriber);

  // Packet path.
  void onRtp(ParticipantSession& from, uint8_t* data, size_t len);
  void onRtcp(ParticipantSession& from, uint8_t* data, size_t len);
  void onConnected(ParticipantSession& session);
  void onTransportConnected(ParticipantSession& session) {
    onConnected(session);
    callbacks_.onSessionConnected(session);
  }
  // One chat message from a participant (docs/media.md "Data channels"): checked, relabelled
  // with the sender's role and delivered to exactly the sessions the room's ForwardingRules let
  // receive the sender's media (forwarding_room_chat.cpp).
  void onChatMessage(ParticipantSession& from, std::string_view message);
  void onFailed(ParticipantSession& session, SessionEndReason reason) {
    callbacks_.onSessionFailed(session, reason);
  }

 private:
  void bindAll();
  void bind(ParticipantSession& subscriber, Consumer& consumer);
  void forward(Producer& producer, Consumer& consumer, const uint8_t* data, size_t len);
  // Asks the producer's sender for a keyframe (PLI, or FIR where only that was negotiated),
  // unless a request is already in flight: then the wish is kept and sent when that one times
  // out.
  void requestKeyframe(Producer& producer);
  void onProducerPacket(Producer& producer, const RtpPacket& packet, int64_t nowUs);
  void sendTransportCc(ParticipantSession& session, uint64_t nowUs);
  void sendNacks(Producer& producer, uint64_t nowMs);
  void onConsumerRtcp(ParticipantSession& from, uint8_t* data, size_t len);
  void onProducerRtcp(ParticipantSession& from, uint8_t* data, size_t len);
  void onConsumerReport(ParticipantSession& from, const rtcp::Item& item);
  void retransmit(Consumer& consumer, uint16_t seq);
  // Sends each publisher the bottleneck of its subscribers' downlinks (REMB).
  void limitPublishersOf(ParticipantSession& subscriber, bool refresh);
  void limitSender(ParticipantSession& publisher, bool refresh);
  uint64_t senderLimit(ParticipantSession& publisher) const;
  uint64_t receiverEstimate(ParticipantSession& publisher, uint64_t goodputBps);
  void sendReceiverEstimate(ParticipantSession& publisher);
  bool sendRemb(ParticipantSession& publisher, uint64_t bps);
  void stampTransportWide(ParticipantSession& subscriber, uint8_t* buf, size_t& len,
                          size_t capacity, int64_t nowUs);
  // Audio first.
  void updateVideoPause(ParticipantSession& subscriber, uint64_t nowMs);
  void pauseVideo(ParticipantSession& subscriber, uint64_t nowMs);
  void resumeVideo(ParticipantSession& subscriber, uint64_t nowMs);
  void sendProbe(ParticipantSession& subscriber, int64_t nowUs);
  static Consumer* probeStream(ParticipantSession& subscriber);
  uint64_t probeBps() const { return ctx_.videoFloorBps * 3 / 2; }

  std::string id_;
  WorkerContext& ctx_;
  Callbacks& callbacks_;
  ForwardingRules rules_;  // until set, nothing flows
  std::vector<ParticipantSession*> sessions_;
};

}  // namespace medrelay::media
