#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "control/consultation.h"

namespace medrelay::net {
class Dispatcher;
}

namespace medrelay::control {

enum class RoomEventType : uint8_t {
  kJoined,        // an invite's first live session started
  kPublished,     // a publish session started
  kAdmitted,      // the patient was admitted: the consultation started
  kLeft,          // an invite's last live session ended (with reason)
  kPeerLost,      // a publish session went silent (stale: it may be taken over)
  kCancelled,     // the room was cancelled
  kEnded,         // the room ended (window closed or consultation ended)
  kPeerRestored,  // a stale publish session is receiving again
  kRevoked,       // an invite was revoked: only that invite's own streams receive it
  kQuality,       // a session's link quality (every few seconds): see RoomEventBus::publish
  kVideoPaused,   // audio first: video to a subscribe session stopped (reason bandwidth)
  kVideoResumed,  // … and restarted
};
std::string_view toString(RoomEventType type);

struct RoomEvent {
  RoomEventType type = RoomEventType::kJoined;
  std::string room_id;
  std::string invite_id;
  std::optional<Role> role;
  std::string subject;  // backend audience only
  std::string session_id;
  std::string reason;
  int64_t time_us = 0;
};

// Who reads a stream: the backend sees subjects and sessions; participants see only role and
// invite id of the others (never a subject).
enum class Audience : uint8_t { kBackend, kParticipant };

// The in-process event bus behind GET /v1/rooms/{id}/events (SSE). Runs on the control
// dispatcher. Each subscriber has a bounded queue: when a slow reader lets it fill, the oldest
// events are dropped and counted. Callbacks run from the dispatcher, never inside publish().
//
// A participant's subscription ends with its last event (docs/api.md, "Events"): `revoked` for its
// own invite, `cancelled` or `ended` for its room. That event is queued behind the ones published
// before it and nothing published after it is queued; once it is delivered `on_end` runs and the
// subscription is gone. Backend subscriptions never end this way and never see `revoked`.
class RoomEventBus {
 public:
  using Callback = std::function<void(const nlohmann::json& event)>;

  explicit RoomEventBus(net::Dispatcher& dispatcher, size_t max_queued = 256);
  ~RoomEventBus();
  RoomEventBus(const RoomEventBus&) = delete;
  RoomEventBus& operator=(const RoomEventBus&) = delete;

  // invite_id: the participant's own invite (its `revoked` event ends the subscription); role:
  // the participant's role. A participant receives `quality` of its own sessions, and one holding
  // a doctor seat also the patient's (docs/policy.md "Events").
  uint64_t subscribe(const std::string& room_id, Audience audience, Callback callback,
                     std::string invite_id = {}, std::function<void()> on_end = {},
                     std::optional<Role> role = std::nullopt);
  void unsubscribe(uint64_t id);
  // `data`: fields added to every view of the event (kQuality: direction and quality).
  void publish(const RoomEvent& event, const nlohmann::json& data = nullptr);

  // The event as `audience` sees it.
  static nlohmann::json view(const RoomEvent& event, Audience audience);
  size_t subscribers(const std::string& room_id) const;
  uint64_t dropped() const { return dropped_; }

 private:
  struct Subscriber {
    std::string room_id;
    Audience audience;
    Callback callback;
    std::string invite_id;
    std::function<void()> on_end;
    std::optional<Role> role;
    std::deque<nlohmann::json> queue;
    bool scheduled = false;
    bool ending = false;  // its last event is queued; it no longer listens to the room
  };
  void enqueue(uint64_t id, Subscriber& s, nlohmann::json event);
  void removeFromRoom(uint64_t id, const std::string& room_id);
  void drain(uint64_t id);

  net::Dispatcher& dispatcher_;
  size_t maxQueued_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, Subscriber> subscribers_;
  std::multimap<std::string, uint64_t> byRoom_;
  uint64_t dropped_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // posted drains check it
};

}  // namespace medrelay::control
