#pragma once
// What the control plane keeps of each live session's link quality, as the media plane reports
// it every few seconds (docs/media.md "Quality you can see"): the latest report for
// GET /v1/rooms/{id} and the room's `quality` events, and a running summary that goes into the
// session's participant_left record (numbers only: no content). Control thread only.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>

namespace medrelay::control {

struct LinkQuality {
  uint64_t bitrate_bps = 0;   // publish: received from the participant; subscribe: sent to it
  double loss = 0;            // fraction lost, 0..1 (RFC 3550 §6.4.1)
  uint32_t jitter_ms = 0;     // RFC 3550 §6.4.4
  uint32_t rtt_ms = 0;        // 0: unknown
  uint64_t estimate_bps = 0;  // the receiver's own estimate (REMB), 0: none
  uint32_t freezes = 0;       // video gaps of 500 ms or more in the interval
  uint32_t freeze_ms = 0;
  int64_t at_us = 0;  // when it was reported
};
nlohmann::json toJson(const LinkQuality& q);

// A session's data channel traffic over its life, as the media plane counts it (counts only:
// the relay keeps no message content; docs/media.md "Data channels").
struct DataChannelTotals {
  uint64_t messages_in = 0;
  uint64_t bytes_in = 0;
  uint64_t messages_out = 0;
  uint64_t bytes_out = 0;
  uint64_t refused = 0;
};

class LinkQualityBook {
 public:
  // Over a session's life, for its participant_left record.
  struct Summary {
    uint64_t reports = 0;
    uint64_t bitrate_sum = 0;
    double loss_sum = 0;
    double loss_max = 0;
    uint32_t rtt_max = 0;
    uint64_t freezes = 0;
    uint64_t freeze_ms = 0;
    std::optional<DataChannelTotals> data;
    // detail fields: bitrate_kbps_mean, loss_permille_mean, loss_permille_max, rtt_ms_max,
    // freezes, freeze_ms (integers: the access log takes no fractions), once the link was
    // reported; dc_messages_in, dc_bytes_in, dc_messages_out, dc_bytes_out, dc_refused once the
    // session used data channels.
    nlohmann::json detail() const;
  };

  void update(const std::string& session_id, const LinkQuality& q);
  // The session's data channel totals so far (replacing the previous ones).
  void updateData(const std::string& session_id, const DataChannelTotals& totals);
  std::optional<LinkQuality> latest(const std::string& session_id) const;
  // Removes the session and returns its summary (nullopt if it never reported anything).
  std::optional<Summary> take(const std::string& session_id);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    LinkQuality latest;
    Summary summary;
  };
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, DataChannelTotals> data_;
};

}  // namespace medrelay::control
