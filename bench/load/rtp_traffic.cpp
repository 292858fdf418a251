#include "bench/load/rtp_traffic.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "bench/load/load_stats.h"

namespace medrelay::bench {

namespace {
constexpr uint64_t kAudioIntervalNs = 20'000'000;  // 20 ms Opus frames

size_t videoFrameBytes(const TrafficModel& m, bool keyframe) {
  const double avg = static_cast<double>(m.videoBitrate) / 8.0 / m.fps;
  // Keyframes are keyframeScale × larger; the deltas shrink so the average stays at the bitrate.
  const double framesPerKey = std::max(1.0, m.keyframeIntervalS * m.fps);
  const double delta = avg * framesPerKey / (framesPerKey - 1 + m.keyframeScale);
  return static_cast<size_t>(keyframe ? delta * m.keyframeScale : delta);
}
}  // namespace

double TrafficModel::packetsPerSecondPerParticipant() const {
  double pps = audio ? 50.0 : 0.0;
  if (video) {
    // Exactly what TrafficSchedule emits: per keyframe interval one keyframe and the deltas,
    // each split into ceil(bytes / room) packets.
    const auto room = static_cast<double>(kMaxVideoPacket - kRtpHeaderSize);
    const auto keyEvery = static_cast<uint64_t>(std::max(1.0, keyframeIntervalS * fps));
    const double key = std::max(1.0, std::ceil(double(videoFrameBytes(*this, true)) / room));
    const double delta = std::max(1.0, std::ceil(double(videoFrameBytes(*this, false)) / room));
    pps += (key + delta * double(keyEvery - 1)) / double(keyEvery) * fps;
  }
  return pps;
}

TrafficModel TrafficModel::scaledTo(double pps) const {
  TrafficModel m = *this;
  const double per = packetsPerSecondPerParticipant();
  m.participants =
      per > 0 ? std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(pps / per))) : 1;
  return m;
}

TrafficSchedule::TrafficSchedule(const TrafficModel& model, uint64_t startNs, uint32_t seed)
    : model_(model),
      startNs_(startNs),
      rng_(seed),
      rtpSeq_(model.streams(), 0),
      frameCount_(model.participants, 0),
      pending_(model.participants, 0),
      pendingSize_(model.participants, 0),
      pendingKey_(model.participants, 0) {
  const uint64_t frameNs = 1'000'000'000ULL / std::max<uint32_t>(1, model.fps);
  for (uint32_t p = 0; p < model.participants; ++p) {
    const uint64_t offset = (frameNs * p) / std::max<uint32_t>(1, model.participants);
    if (model.audio) queue_.push({startNs + offset % kAudioIntervalNs, p, false});
    if (model.video) queue_.push({startNs + offset, p, true});
  }
}

void TrafficSchedule::emitFrame(const Event& e, ScheduledPacket* out, size_t max, size_t& n) {
  const uint32_t p = e.participant;
  const uint32_t stream = p * 2 + 1;
  const uint64_t frameNs = 1'000'000'000ULL / model_.fps;
  bool start = false;
  if (pending_[p] == 0) {
    start = true;
    const uint64_t frame = frameCount_[p]++;
    const auto keyEvery =
        static_cast<uint64_t>(std::max(1.0, model_.keyframeIntervalS * model_.fps));
    // Keyframe phases spread over the interval: real senders' keyframes are not synchronised, and
    // 24 publishers' keyframes in the same frame interval would be a burst no SFU ever sees.
    const uint64_t phase = p * keyEvery / std::max<uint32_t>(1, model_.participants);
    const bool key = (frame + phase) % keyEvery == 0;
    const size_t bytes = videoFrameBytes(model_, key);
    // A sender's first frame is a keyframe too (marked; sized as the schedule's deltas).
    pendingKey_[p] = key || frame == 0 ? 1 : 0;
    const size_t room = TrafficModel::kMaxVideoPacket - kRtpHeaderSize;
    pending_[p] = static_cast<uint32_t>(std::max<size_t>(1, (bytes + room - 1) / room));
    // Equal-sized packets, as packetizers split a frame.
    pendingSize_[p] = static_cast<uint32_t>(
        std::max(TrafficModel::kMinPacket, bytes / pending_[p] + kRtpHeaderSize));
  }
  const auto rtpTs = static_cast<uint32_t>((e.at - startNs_) * 90 / 1'000'000);  // 90 kHz
  while (pending_[p] > 0 && n < max) {
    --pending_[p];
    const uint64_t seq = rtpSeq_[stream]++;
    out[n++] = {stream,
                static_cast<uint16_t>(pendingSize_[p]),
                pending_[p] == 0,
                start,
                pendingKey_[p] != 0,
                rtpTs,
                static_cast<uint16_t>(seq),
                seq};
    start = false;
  }
  // A burst cut short by max continues immediately; otherwise the next frame.
  queue_.push({pending_[p] > 0 ? e.at : e.at + frameNs, p, true});
}

void TrafficSchedule::setVideoBitrate(uint32_t bitsPerSecond) {
  model_.videoBitrate = bitsPerSecond;
}

size_t TrafficSchedule::due(uint64_t nowNs, ScheduledPacket* out, size_t max) {
  size_t n = 0;
  std::uniform_int_distribution<int> audioSize(100, 200);
  while (n < max && !queue_.empty() && queue_.top().at <= nowNs) {
    const Event e = queue_.top();
    queue_.pop();
    if (e.video) {
      emitFrame(e, out, max, n);
    } else {
      const uint32_t stream = e.participant * 2;
      const auto rtpTs = static_cast<uint32_t>((e.at - startNs_) * 48 / 1'000'000);  // 48 kHz
      const uint64_t seq = rtpSeq_[stream]++;
      out[n++] = {stream,
                  static_cast<uint16_t>(audioSize(rng_)),
                  true,
                  false,
                  false,
                  rtpTs,
                  static_cast<uint16_t>(seq),
                  seq};
      queue_.push({e.at + kAudioIntervalNs, e.participant, false});
    }
  }
  return n;
}

void writeRtpPacket(uint8_t* buf, const ScheduledPacket& p, uint32_t ssrc, uint8_t payloadType,
                    uint64_t sendNs) {
  buf[0] = 0x80;
  buf[1] = static_cast<uint8_t>((p.marker ? 0x80 : 0) | (payloadType & 0x7f));
  buf[2] = static_cast<uint8_t>(p.rtpSequence >> 8);
  buf[3] = static_cast<uint8_t>(p.rtpSequence);
  for (int i = 0; i < 4; ++i) buf[4 + i] = static_cast<uint8_t>(p.rtpTimestamp >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) buf[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  buf[kRtpHeaderSize] = p.frameStart ? 0x10 : 0x00;    // S bit, PID 0
  buf[kRtpHeaderSize + 1] = p.keyframe ? 0x00 : 0x01;  // P bit: 0 = keyframe
  PayloadStamp{p.stream, p.sequence, sendNs}.write(buf + kRtpHeaderSize + kPayloadPrefix);
  const size_t used = kRtpHeaderSize + kPayloadPrefix + PayloadStamp::kSize;
  if (p.size > used) std::memset(buf + used, 0xA5, p.size - used);
}

}  // namespace medrelay::bench
