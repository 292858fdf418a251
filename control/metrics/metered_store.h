#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/metrics/store_metrics.h"
#include "control/store.h"

namespace medrelay::metrics {

// A Store that forwards every call to another one and counts the failures in
// medrelay_store_errors_total: kind read for queries, write for changes, busy when the backend
// reports a lock timeout ("database is locked"/"busy"). not_found answers are not errors.
class MeteredStore final : public control::Store {
 public:
  MeteredStore(control::Store& inner, StoreMetrics& metrics) : inner_(inner), metrics_(metrics) {}

  Result<void> insertRoom(const control::Room& room) override {
    return count(inner_.insertRoom(room), StoreError::kWrite);
  }
  Result<std::optional<control::Room>> room(const std::string& id) override {
    return count(inner_.room(id), StoreError::kRead);
  }
  Result<void> updateRoom(const control::Room& room) override {
    return count(inner_.updateRoom(room), StoreError::kWrite);
  }
  Result<void> deleteRoom(const std::string& id) override {
    return count(inner_.deleteRoom(id), StoreError::kWrite);
  }
  Result<control::RoomPage> listRooms(const control::RoomFilter& filter, int64_t now_us) override {
    return count(inner_.listRooms(filter, now_us), StoreError::kRead);
  }
  Result<std::vector<control::Room>> roomsClosedBy(int64_t now_us) override {
    return count(inner_.roomsClosedBy(now_us), StoreError::kRead);
  }
  Result<void> insertInvite(const control::Invite& invite) override {
    return count(inner_.insertInvite(invite), StoreError::kWrite);
  }
  Result<void> deleteInvite(const std::string& id) override {
    return count(inner_.deleteInvite(id), StoreError::kWrite);
  }
  Result<std::optional<control::Invite>> invite(const std::string& id) override {
    return count(inner_.invite(id), StoreError::kRead);
  }
  Result<std::optional<control::Invite>> inviteByHash(const std::string& token_hash) override {
    return count(inner_.inviteByHash(token_hash), StoreError::kRead);
  }
  Result<std::vector<control::Invite>> invitesOfRoom(const std::string& room_id) override {
    return count(inner_.invitesOfRoom(room_id), StoreError::kRead);
  }
  Result<void> revokeInvite(const std::string& id, int64_t at_us) override {
    return count(inner_.revokeInvite(id, at_us), StoreError::kWrite);
  }
  Result<std::vector<control::Invite>> deadInvites(int64_t now_us) override {
    return count(inner_.deadInvites(now_us), StoreError::kRead);
  }
  Result<void> closeRoom(const control::Room& room, bool revoke_invites) override {
    return count(inner_.closeRoom(room, revoke_invites), StoreError::kWrite);
  }
  Result<void> insertSession(const control::Session& session) override {
    return count(inner_.insertSession(session), StoreError::kWrite);
  }
  Result<void> replaceSession(const std::string& old_id, const control::Session& s) override {
    return count(inner_.replaceSession(old_id, s), StoreError::kWrite);
  }
  Result<void> removeSession(const std::string& id) override {
    return count(inner_.removeSession(id), StoreError::kWrite);
  }
  Result<void> setSessionStale(const std::string& id, bool stale) override {
    return count(inner_.setSessionStale(id, stale), StoreError::kWrite);
  }
  Result<std::optional<control::Session>> session(const std::string& id) override {
    return count(inner_.session(id), StoreError::kRead);
  }
  Result<std::vector<control::Session>> sessionsOfRoom(const std::string& room_id) override {
    return count(inner_.sessionsOfRoom(room_id), StoreError::kRead);
  }
  Result<std::vector<control::Session>> sessionsOfInvite(const std::string& invite_id) override {
    return count(inner_.sessionsOfInvite(invite_id), StoreError::kRead);
  }
  Result<std::vector<control::Session>> sessionsOfSubject(const std::string& subject) override {
    return count(inner_.sessionsOfSubject(subject), StoreError::kRead);
  }
  Result<std::vector<control::Session>> takeAllSessions() override {
    return count(inner_.takeAllSessions(), StoreError::kWrite);
  }
  std::unique_ptr<control::StoreTransaction> begin() override {
    return std::make_unique<Transaction>(*this, inner_.begin());
  }
  Result<int64_t> insertPending(const control::PendingRecord& pending) override {
    return count(inner_.insertPending(pending), StoreError::kWrite);
  }
  Result<void> removePending(const std::vector<int64_t>& ids) override {
    return count(inner_.removePending(ids), StoreError::kWrite);
  }
  Result<void> removePendingOf(control::PendingOf kind, const std::string& id) override {
    return count(inner_.removePendingOf(kind, id), StoreError::kWrite);
  }
  Result<std::vector<control::PendingRecord>> pendingRecords(int64_t after_id,
                                                             size_t limit) override {
    return count(inner_.pendingRecords(after_id, limit), StoreError::kRead);
  }

 private:
  // Counts a failed commit as a write error.
  class Transaction final : public control::StoreTransaction {
   public:
    Transaction(MeteredStore& store, std::unique_ptr<control::StoreTransaction> inner)
        : store_(store), inner_(std::move(inner)) {}
    Result<void> commit() override { return store_.count(inner_->commit(), StoreError::kWrite); }

   private:
    MeteredStore& store_;
    std::unique_ptr<control::StoreTransaction> inner_;
  };

  template <typename T>
  Result<T> count(Result<T> r, StoreError kind) {
    if (!r.ok() && r.error().code != "not_found") {
      const std::string& m = r.error().message;
      const bool busy =
          m.find("locked") != std::string::npos || m.find("busy") != std::string::npos;
      metrics_.error(busy ? StoreError::kBusy : kind);
    }
    return r;
  }

  control::Store& inner_;
  StoreMetrics& metrics_;
};

}  // namespace medrelay::metrics
