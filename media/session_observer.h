#pragma once
// What the media plane tells its owner about each session's liveness (docs/media.md
// "Session liveness"). Media knows nothing of policy: the owner (signalling::WhipEndpoint) maps
// these to the control plane's decisions (a stale publish session may be taken over) and to the
// access log's end reasons (docs/access-log.md).
#include <cstdint>
#include <string>
#include <string_view>

namespace medrelay::media {

// Why the media plane ended a session on its own. Sorted by when in a session's life each can
// happen; kCount last.
enum class SessionEndReason : uint8_t {
  kIceFailed,       // no ICE nomination within the connect timeout (RFC 8445 §8.1)
  kDtlsFailed,      // DTLS handshake failed or timed out, or no SRTP keys (RFC 5764 §4.2)
  kConsentTimeout,  // consent expired on the selected pair (RFC 7675 §5.1)
  kDtlsClosed,      // the peer sent close_notify (RFC 5246 §7.2.1): it hung up
  kCount
};
std::string_view toString(SessionEndReason reason);

// One session's link over the last report interval (docs/media.md "Quality"). For a publish
// session it is what the relay receives from the participant; for a subscribe session what the
// relay sends it, as the participant's receiver reports describe it.
struct SessionQuality {
  uint64_t bitrateBps = 0;   // media bits per second (RTP payload and headers)
  double lossFraction = 0;   // RFC 3550 §6.4.1 fraction lost, the worst stream, 0..1
  uint32_t jitterMs = 0;     // RFC 3550 §6.4.4 interarrival jitter, the worst stream
  uint32_t rttMs = 0;        // subscribe: from its receiver reports (LSR/DLSR); 0 unknown
  uint64_t estimateBps = 0;  // subscribe: its own receive estimate (REMB) if it sends one
  uint32_t freezes = 0;      // video gaps of kFreezeGapMs or more that ended in the interval
  uint32_t freezeMs = 0;     // their total length
};
inline constexpr uint64_t kFreezeGapMs = 500;

// One session's data channel traffic over its life (docs/media.md "Data channels"): counts only,
// never content.
struct DataChannelTotals {
  uint64_t messagesIn = 0;  // received from the participant
  uint64_t bytesIn = 0;
  uint64_t messagesOut = 0;  // delivered to the participant
  uint64_t bytesOut = 0;
  uint64_t refused = 0;  // its messages the relay refused, and deliveries to it that failed
  bool operator==(const DataChannelTotals&) const = default;
};

// Implemented by the owner of a Router. Every call runs on the session's media worker thread;
// an implementation that touches other state posts to its own thread.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  // DTLS-SRTP keys are in place: media can flow.
  virtual void onSessionConnected(const std::string& sessionId) = 0;
  // Nothing authenticated (ICE check, DTLS, SRTP, SRTCP) arrived for the stale threshold, counted
  // from the session's start if nothing ever did (stale = true), or packets arrived again
  // (stale = false). Reported on changes only.
  virtual void onSessionStale(const std::string& sessionId, bool stale) = 0;
  // Every Router::Options::qualityInterval, for each connected session.
  virtual void onSessionQuality(const std::string& sessionId, const SessionQuality& quality) = 0;
  // Audio first (docs/media.md "Subscriber downlink"): video to this subscribe session stopped
  // because its downlink carries less than the video floor (paused = true), or resumed.
  virtual void onVideoPaused(const std::string& sessionId, bool paused) = 0;
  // A session's data channel totals when they changed, with the quality reports and once more
  // before onSessionEnded (not for Router::closeSession: the last report stands).
  virtual void onSessionDataTotals(const std::string& /*sessionId*/,
                                   const DataChannelTotals& /*totals*/) {}
  // The session is gone; the Router has destroyed it. Not called for Router::closeSession.
  virtual void onSessionEnded(const std::string& sessionId, SessionEndReason reason) = 0;
};

}  // namespace medrelay::media
