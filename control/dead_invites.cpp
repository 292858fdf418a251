#include "control/dead_invites.h"

#include <algorithm>
#include <mutex>

#include "control/store.h"

namespace medrelay::control {

Result<void> DeadInvites::load(Store& store, int64_t now_us) {
  auto dead = store.deadInvites(now_us);
  if (!dead.ok()) return dead.error();
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> loaded;
  for (const auto& inv : *dead) loaded.emplace(inv.id, inv.expires_us);
  std::unique_lock lock(mutex_);
  expiresUs_ = std::move(loaded);
  pruneAt_ = std::max(kMinPruneAt, 2 * expiresUs_.size());
  return {};
}

void DeadInvites::add(const std::string& invite_id, int64_t expires_us, int64_t now_us) {
  if (expires_us <= now_us) return;  // its credentials are refused as expired already
  std::unique_lock lock(mutex_);
  expiresUs_.insert_or_assign(invite_id, expires_us);
  // Amortised: a sweep only when the set has doubled since the last one.
  if (expiresUs_.size() >= pruneAt_) prune(now_us);
}

void DeadInvites::prune(int64_t now_us) {
  std::erase_if(expiresUs_, [now_us](const auto& e) { return e.second <= now_us; });
  pruneAt_ = std::max(kMinPruneAt, 2 * expiresUs_.size());
}

bool DeadInvites::isLive(std::string_view invite_id) {
  std::shared_lock lock(mutex_);
  return expiresUs_.find(invite_id) == expiresUs_.end();
}

size_t DeadInvites::size() const {
  std::shared_lock lock(mutex_);
  return expiresUs_.size();
}

}  // namespace medrelay::control
