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
class RoomEventBus {
 public:
  using Callback = std::function<void(const nlohmann::json& event)>;

  explicit RoomEventBus(net::Dispatcher& dispatcher, size_t max_queued = 256);
  ~RoomEventBus();
  RoomEventBus(const RoomEventBus&) = delete;
  RoomEventBus& operator=(const RoomEventBus&) = delete;

  uint64_t subscribe(const std::string& room_id, Audience audience, Callback callback);
  void unsubscribe(uint64_t id);
  void publish(const RoomEvent& event);

  // The event as `audience` sees it.
  static nlohmann::json view(const RoomEvent& event, Audience audience);
  size_t subscribers(const std::string& room_id) const;
  uint64_t dropped() const { return dropped_; }

 private:
  struct Subscriber {
    std::string room_id;
    Audience audience;
    Callback callback;
    std::deque<nlohmann::json> queue;
    bool scheduled = false;
  };
  void drain(uint64_t id);

  net::Dispatcher& dispatcher_;
  size_t max_queued_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Subscriber> subscribers_;
  std::multimap<std::string, uint64_t> by_room_;
  uint64_t dropped_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // posted drains check it
};

}  // namespace medrelay::control
