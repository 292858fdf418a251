#include "control/link_quality.h"

#include <algorithm>
#include <cmath>

#include "control/access_log_record.h"

namespace medrelay::control {

nlohmann::json toJson(const LinkQuality& q) {
  return {{"bitrate_bps", q.bitrate_bps},   {"loss", std::round(q.loss * 1000) / 1000},
          {"jitter_ms", q.jitter_ms},       {"rtt_ms", q.rtt_ms},
          {"estimate_bps", q.estimate_bps}, {"freezes", q.freezes},
          {"freeze_ms", q.freeze_ms},       {"at", formatTime(q.at_us)}};
}

nlohmann::json LinkQualityBook::Summary::detail() const {
  nlohmann::json d = nlohmann::json::object();
  if (reports > 0) {
    const uint64_t n = reports;
    d = {{"bitrate_kbps_mean", bitrate_sum / n / 1000},
         {"loss_permille_mean", static_cast<int64_t>(std::lround(loss_sum / n * 1000))},
         {"loss_permille_max", static_cast<int64_t>(std::lround(loss_max * 1000))},
         {"rtt_ms_max", rtt_max},
         {"freezes", freezes},
         {"freeze_ms", freeze_ms}};
  }
  if (data) {
    d["dc_messages_in"] = data->messages_in;
    d["dc_bytes_in"] = data->bytes_in;
    d["dc_messages_out"] = data->messages_out;
    d["dc_bytes_out"] = data->bytes_out;
    d["dc_refused"] = data->refused;
  }
  return d;
}

void LinkQualityBook::updateData(const std::string& session_id, const DataChannelTotals& totals) {
  data_[session_id] = totals;
}

void LinkQualityBook::update(const std::string& session_id, const LinkQuality& q) {
  Entry& e = entries_[session_id];
  e.latest = q;
  Summary& s = e.summary;
  ++s.reports;
  s.bitrate_sum += q.bitrate_bps;
  s.loss_sum += q.loss;
  s.loss_max = std::max(s.loss_max, q.loss);
  s.rtt_max = std::max(s.rtt_max, q.rtt_ms);
  s.freezes += q.freezes;
  s.freeze_ms += q.freeze_ms;
}

std::optional<LinkQuality> LinkQualityBook::latest(const std::string& session_id) const {
  auto it = entries_.find(session_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.latest;
}

std::optional<LinkQualityBook::Summary> LinkQualityBook::take(const std::string& session_id) {
  auto it = entries_.find(session_id);
  auto dt = data_.find(session_id);
  if (it == entries_.end() && dt == data_.end()) return std::nullopt;
  Summary s;
  if (it != entries_.end()) {
    s = it->second.summary;
    entries_.erase(it);
  }
  if (dt != data_.end()) {
    s.data = dt->second;
    data_.erase(dt);
  }
  return s;
}

}  // namespace medrelay::control
