#include "control/room_events.h"

#include <array>
#include <vector>

#include "control/access_log_record.h"
#include "net/dispatcher.h"

namespace medrelay::control {

std::string_view toString(RoomEventType type) {
  static constexpr std::array<std::string_view, 12> kNames = {
      "joined", "published",     "admitted", "left",    "peer-lost",    "cancelled",
      "ended",  "peer-restored", "revoked",  "quality", "video_paused", "video_resumed"};
  return kNames[static_cast<size_t>(type)];
}

RoomEventBus::RoomEventBus(net::Dispatcher& dispatcher, size_t max_queued)
    : dispatcher_(dispatcher), maxQueued_(max_queued) {}

RoomEventBus::~RoomEventBus() = default;

uint64_t RoomEventBus::subscribe(const std::string& room_id, Audience audience, Callback callback,
                                 std::string invite_id, std::function<void()> on_end,
                                 std::optional<Role> role) {
  const uint64_t id = nextId_++;
  subscribers_.emplace(id, Subscriber{room_id,
                                      audience,
                                      std::move(callback),
                                      std::move(invite_id),
                                      std::move(on_end),
                                      role,
                                      {},
                                      false,
                                      false});
  byRoom_.emplace(room_id, id);
  return id;
}

void RoomEventBus::removeFromRoom(uint64_t id, const std::string& room_id) {
  auto [b, e] = byRoom_.equal_range(room_id);
  for (auto r = b; r != e; ++r) {
    if (r->second == id) {
      byRoom_.erase(r);
      return;
    }
  }
}

void RoomEventBus::unsubscribe(uint64_t id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  if (!it->second.ending) removeFromRoom(id, it->second.room_id);
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

void RoomEventBus::enqueue(uint64_t id, Subscriber& s, nlohmann::json event) {
  if (s.queue.size() >= maxQueued_) {
    s.queue.pop_front();
    ++dropped_;
  }
  s.queue.push_back(std::move(event));
  if (!s.scheduled) {
    s.scheduled = true;
    std::weak_ptr<char> alive = alive_;
    dispatcher_.post([this, alive, id] {
      if (alive.lock()) drain(id);
    });
  }
}

void RoomEventBus::publish(const RoomEvent& event, const nlohmann::json& data) {
  const bool room_over =
      event.type == RoomEventType::kCancelled || event.type == RoomEventType::kEnded;
  std::vector<uint64_t> ended;
  auto [b, e] = byRoom_.equal_range(event.room_id);
  for (auto r = b; r != e; ++r) {
    const uint64_t id = r->second;
    Subscriber& s = subscribers_.at(id);
    const bool participant = s.audience == Audience::kParticipant;
    bool last = participant && room_over;
    const bool link = event.type == RoomEventType::kQuality ||
                      event.type == RoomEventType::kVideoPaused ||
                      event.type == RoomEventType::kVideoResumed;
    if (link && participant) {
      // Its own links; a doctor also sees how the patient's are.
      const bool own = !s.invite_id.empty() && s.invite_id == event.invite_id;
      const bool doctor_seat = s.role == Role::kDoctor || s.role == Role::kAttendingDoctor;
      if (!own && !(doctor_seat && event.role == Role::kPatient)) continue;
    }
    if (event.type == RoomEventType::kRevoked) {
      // Only the revoked invite's own streams learn of it, as their last event.
      if (!participant || s.invite_id.empty() || s.invite_id != event.invite_id) continue;
      last = true;
    }
    nlohmann::json v = view(event, s.audience);
    if (data.is_object()) v.update(data);
    enqueue(id, s, std::move(v));
    if (last) {
      s.ending = true;
      ended.push_back(id);
    }
  }
  // Nothing published from now on reaches them.
  for (uint64_t id : ended) removeFromRoom(id, event.room_id);
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
  auto cur = subscribers_.find(id);
  if (cur == subscribers_.end() || !cur->second.ending) return;
  // The last event is delivered (an ending subscriber gets no more).
  std::function<void()> on_end = std::move(cur->second.on_end);
  subscribers_.erase(cur);
  if (on_end) on_end();
}

size_t RoomEventBus::subscribers(const std::string& room_id) const {
  return byRoom_.count(room_id);
}

}  // namespace medrelay::control
