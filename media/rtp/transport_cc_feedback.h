#pragma once

// The receive side of transport-wide congestion control
// (draft-holmer-rmcat-transport-wide-cc-extensions-01): records the arrival time of every RTP
// packet of one transport by its transport-wide sequence number and writes RTPFB FMT 15 feedback
// (§3.1) for the packets not reported yet, so that the sender's own congestion controller
// (libwebrtc's GoogCC in browsers) sees the delay and loss of its uplink to the relay. See
// docs/media.md "Congestion control".
//
// Packet path: fixed-size ring, no allocation, no exceptions.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "media/rtp/rtp_sequence.h"

namespace medrelay::media::rtcp {

class TransportCcFeedback {
 public:
  // Arrival times kept (a power of two). Packets that fall further behind the newest one are
  // reported as lost.
  static constexpr size_t kWindow = 4096;
  // One feedback packet covers at most this many sequence numbers and stays under kMaxBytes, so
  // it fits a datagram with the SRTCP trailer.
  static constexpr size_t kMaxStatuses = 1024;
  static constexpr size_t kMaxBytes = 1100;

  // A packet with transport-wide sequence `seq` arrived at `arrivalUs` (any monotonic clock in
  // microseconds). Duplicates keep their first arrival. A late packet that was already reported
  // lost moves the window back so it is reported again as received (§3.1: the sender takes the
  // newest report of a sequence number).
  void onPacket(uint16_t seq, int64_t arrivalUs);

  // Sequence numbers received and not yet covered by a feedback packet.
  bool pending() const { return started_ && next_ <= highest_; }
  size_t pendingCount() const { return pending() ? static_cast<size_t>(highest_ - next_ + 1) : 0; }

  // Writes one RTPFB FMT 15 packet covering the oldest unreported sequence numbers into out and
  // returns its size; nullopt when nothing is pending or out is too small. Call again while
  // pending(): a packet ends early where a receive delta does not fit 16 bits (§3.1.5) or at
  // kMaxStatuses / kMaxBytes.
  std::optional<size_t> write(std::span<uint8_t> out, uint32_t senderSsrc, uint32_t mediaSsrc);

  uint8_t feedbackCount() const { return fbCount_; }

 private:
  static constexpr int64_t kNotReceived = -1;
  int64_t& slot(int64_t seq) { return arrival_[static_cast<size_t>(seq) & (kWindow - 1)]; }

  std::array<int64_t, kWindow> arrival_{};
  SeqNumUnwrapper unwrapper_;
  bool started_ = false;
  int64_t next_ = 0;     // first unwrapped sequence number not yet reported
  int64_t highest_ = 0;  // newest unwrapped sequence number received
  uint8_t fbCount_ = 0;  // feedback packet count (§3.1), wraps
};

}  // namespace medrelay::media::rtcp
