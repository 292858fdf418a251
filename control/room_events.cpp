#include "control/room_events.h"

#include <array>

#include "control/access_log_record.h"
#include "net/dispatcher.h"

namespace medrelay::control {

std::string_view toString(RoomEventType type) {
  static constexpr std::array<std::string_view, 8> kNames = {"joined", "published",    "admitted",
                                                             "left",   "peer-lost",    "cancelled",
                                                             "ended",  "peer-restored"};
  return kNames[static_cast<size_t>(type)];
}

RoomEventBus::RoomEventBus(net::Dispatcher& dispatcher, size_t max_queued)
    : dispatcher_(dispatcher), max_queued_(max_queued) {}

RoomEventBus::~RoomEventBus() = default;

uint64_t RoomEventBus::subscribe(const std::string& room_id, Audience audience, Callback callback) {
  const uint64_t id = next_id_++;
  subscribers_.emplace(id, Subscriber{room_id, audience, std::move(callback), {}, false});
  by_room_.emplace(room_id, id);
  return id;
}

void RoomEventBus::unsubscribe(uint64_t id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  auto [b, e] = by_room_.equal_range(it->second.room_id);
  for (auto r = b; r != e; ++r) {
    if (r->second == id) {
      by_room_.erase(r);
      break;
    }
  }
  subscribers_.erase(it);
}

nlohmann::json RoomEventBus::view(const RoomEvent& event, Audience audience) {
  nlohmann::json j = {{"type", toString(event.type)},
                      {"room_id", event.room_id},
                      {"time", formatTime(event.time_us)}};
  if (!event.invite_id.empty()) j["invite_id"] = event.invite_id;
  if (event.role) j["role"] = toString(*event.role);
  if (!event.reason.empty()) j["reason"] = event.reason;
  if (audience == Audience::kBackend) {
    if (!event.subject.empty()) j["subject"] = event.subject;
    if (!event.session_id.empty()) j["session_id"] = event.session_id;
  }
  return j;
}

void RoomEventBus::publish(const RoomEvent& event) {
  auto [b, e] = by_room_.equal_range(event.room_id);
  for (auto r = b; r != e; ++r) {
    const uint64_t id = r->second;
    Subscriber& s = subscribers_.at(id);
    if (s.queue.size() >= max_queued_) {
      s.queue.pop_front();
      ++dropped_;
    }
    s.queue.push_back(view(event, s.audience));
    if (!s.scheduled) {
      s.scheduled = true;
      std::weak_ptr<char> alive = alive_;
      dispatcher_.post([this, alive, id] {
        if (alive.lock()) drain(id);
      });
    }
  }
}

void RoomEventBus::drain(uint64_t id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  it->second.scheduled = false;
  std::deque<nlohmann::json> batch;
  batch.swap(it->second.queue);
  // The callback may unsubscribe (the SSE stream closed): look the subscriber up each time.
  for (auto& ev : batch) {
    auto cur = subscribers_.find(id);
    if (cur == subscribers_.end()) return;
    Callback cb = cur->second.callback;
    cb(ev);
  }
}

size_t RoomEventBus::subscribers(const std::string& room_id) const {
  return by_room_.count(room_id);
}

}  // namespace medrelay::control
