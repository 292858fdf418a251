#pragma once

// RTP-shaped traffic of consultation participants, as the load generators send it: per
// participant one audio stream (50 packets/s of 100-200 bytes, Opus 20 ms frames) and one video
// stream at a bitrate, frames at a frame rate split into packets of at most kMaxVideoPacket bytes
// and sent back-to-back as a burst, with a keyframe of keyframeScale × the average frame size
// every keyframeIntervalS seconds. Participants are staggered over one frame interval so their
// bursts do not line up, and their keyframes over the keyframe interval. Streams are numbered 2p
// (audio) and 2p+1 (video).

#include <cstddef>
#include <cstdint>
#include <queue>
#include <random>
#include <vector>

namespace medrelay::bench {

struct TrafficModel {
  uint32_t participants = 1;
  bool audio = true;
  bool video = true;
  uint32_t videoBitrate = 1'000'000;  // bits/s
  uint32_t fps = 30;
  double keyframeIntervalS = 3.0;
  uint32_t keyframeScale = 4;
  static constexpr size_t kMaxVideoPacket = 1200;  // UDP payload bytes, RTP header included
  static constexpr size_t kMinPacket = 64;         // RTP header + stamp + padding

  // Average packets/s one participant sends.
  double packetsPerSecondPerParticipant() const;
  // The model with the participant count that offers about `pps` packets/s in total.
  TrafficModel scaledTo(double pps) const;
  uint32_t streams() const { return participants * 2; }
};

struct ScheduledPacket {
  uint32_t stream = 0;
  uint16_t size = 0;  // UDP payload bytes (RTP header included)
  bool marker = false;
  bool frameStart = false;  // video: first packet of a frame
  bool keyframe = false;    // video: the frame is a keyframe
  uint32_t rtpTimestamp = 0;
  uint16_t rtpSequence = 0;  // low 16 bits of sequence
  uint64_t sequence = 0;     // per-stream packet count, carried in the PayloadStamp
};

class TrafficSchedule {
 public:
  TrafficSchedule(const TrafficModel& model, uint64_t startNs, uint32_t seed = 1);
  // Appends every packet due at or before nowNs to out (at most max); returns how many.
  size_t due(uint64_t nowNs, ScheduledPacket* out, size_t max);
  // Frames from now on are sized for this bitrate (a running sweep changes the load).
  void setVideoBitrate(uint32_t bitsPerSecond);
  const TrafficModel& model() const { return model_; }
  // When the next packet is due.
  uint64_t nextDueNs() const { return queue_.empty() ? ~0ULL : queue_.top().at; }

 private:
  struct Event {
    uint64_t at;
    uint32_t participant;
    bool video;
    bool operator>(const Event& o) const { return at > o.at; }
  };
  void emitFrame(const Event& e, ScheduledPacket* out, size_t max, size_t& n);

  TrafficModel model_;
  uint64_t startNs_;
  std::mt19937 rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  std::vector<uint64_t> rtpSeq_;      // per stream
  std::vector<uint64_t> frameCount_;  // per participant (video)
  std::vector<uint32_t> pending_;     // video packets of the current frame not yet emitted (bursts
                                      // larger than max continue on the next call)
  std::vector<uint32_t> pendingSize_;
  std::vector<uint8_t> pendingKey_;
};

// Writes an RTP header (RFC 3550 §5.1, version 2, no CSRC), kPayloadPrefix bytes, the
// PayloadStamp and filler into buf (size bytes, at least TrafficModel::kMinPacket).
void writeRtpPacket(uint8_t* buf, const ScheduledPacket& p, uint32_t ssrc, uint8_t payloadType,
                    uint64_t sendNs);
constexpr size_t kRtpHeaderSize = 12;
// Every payload starts like VP8 (RFC 7741): a one-byte payload descriptor (S bit on a frame's
// first packet, partition 0, §4.2) and the first byte of the VP8 payload header (P bit clear on
// keyframes, §4.3), so an SFU that starts new consumers at a keyframe sees real frame starts.
// Audio payloads carry the same two bytes. The PayloadStamp follows.
inline constexpr size_t kPayloadPrefix = 2;

}  // namespace medrelay::bench
