#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"
#include "net/turn/turn_credentials.h"

namespace medrelay::control {

class Store;

// The invites that are no longer live although their TURN credentials have not expired:
// revoked, or of a cancelled or ended room. The TURN server asks isLive() on its own thread for
// every authenticated request (net::turn::InviteLiveness); the control thread fills the set from
// the store at start-up and adds each invite as it dies, so a revocation outlives a restart
// (docs/turn.md, "Credentials"). An entry goes once its invite expires: the REST username
// carries that expiry and TURN refuses it by itself from then on.
class DeadInvites final : public net::turn::InviteLiveness {
 public:
  // Control thread: replaces the set with the store's dead invites that expire after now_us.
  Result<void> load(Store& store, int64_t now_us);
  // Control thread: the invite stopped being live (expires_us: when its credentials expire).
  void add(const std::string& invite_id, int64_t expires_us, int64_t now_us);
  // Any thread. No allocation: a shared lock and one hash lookup.
  bool isLive(std::string_view invite_id) override;
  size_t size() const;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Drops the entries that expired (writer lock held).
  void prune(int64_t now_us);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> expiresUs_;  // by invite id
  size_t pruneAt_ = kMinPruneAt;
  static constexpr size_t kMinPruneAt = 1024;
};

}  // namespace medrelay::control
