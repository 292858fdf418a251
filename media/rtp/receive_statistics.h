#pragma once

// Reception statistics of one received RTP stream, for the report block of our receiver reports
// (RFC 3550 §6.4.1): extended highest sequence number and cumulative loss (Appendix A.3),
// fraction lost since the previous report, and interarrival jitter (§6.4.1, Appendix A.8).
// Counts the original stream only: packets recovered from RTX are reported on the RTX stream by
// RFC 4588 senders' own accounting, and counting them here would hide the loss of the link.
// Packet path: no allocation.

#include <cstdint>

#include "media/rtp/rtcp_packet.h"
#include "media/rtp/rtp_sequence.h"

namespace medrelay::media {

class ReceiveStatistics {
 public:
  // One packet of the stream arrived at arrivalUs (monotonic microseconds); clockRate is the
  // stream's RTP clock in Hz.
  void onPacket(uint16_t seq, uint32_t rtpTimestamp, int64_t arrivalUs, uint32_t clockRate);
  // Starts over (a new SSRC on the same track).
  void reset() { *this = ReceiveStatistics(); }

  bool started() const { return started_; }
  // Unwrapped (cycles << 16 | seq) highest sequence number received; -1 before the first.
  int64_t highest() const { return started_ ? highest_ : -1; }
  // seq placed in the unwrapped space without moving it (gap detection before onPacket).
  int64_t peekUnwrapped(uint16_t seq) const { return unwrapper_.peek(seq); }
  uint64_t received() const { return received_; }
  int64_t expected() const { return started_ ? highest_ - base_ + 1 : 0; }
  int64_t cumulativeLost() const { return expected() - static_cast<int64_t>(received_); }
  uint32_t jitter() const { return jitterQ4_ >> 4; }  // RTP timestamp units

  // Fills ssrc, fraction lost (since the previous call), cumulative lost, extended highest
  // sequence and jitter of a report block; LSR/DLSR are the caller's. Advances the interval.
  rtcp::ReportBlock report(uint32_t ssrc);

 private:
  SeqNumUnwrapper unwrapper_;
  bool started_ = false;
  int64_t base_ = 0;
  int64_t highest_ = 0;
  uint64_t received_ = 0;
  int64_t expectedPrior_ = 0;
  uint64_t receivedPrior_ = 0;
  // Jitter (Appendix A.8): scaled by 16 in integer arithmetic.
  uint32_t jitterQ4_ = 0;
  int64_t firstArrivalUs_ = 0;
  uint32_t lastTransit_ = 0;
  uint32_t lastTimestamp_ = 0;
  bool haveTransit_ = false;
};

}  // namespace medrelay::media
