// ConsultationService: pending access-log records. Every change keeps its records in the store,
// in its own transaction, until the log has them; enabling changes are undone when their record
// cannot be written, records of disabling changes are owed and written when the log accepts them;
// start-up settles what a crash left (docs/access-log.md, "Ordering and recovery").
#include <limits>
#include <unordered_map>

#include "common/assert.h"
#include "common/logging.h"
#include "control/access_log_reader.h"
#include "control/consultation_service.h"

namespace medrelay::control {
namespace {

constexpr size_t kPendingPage = 256;  // owed records written per timer tick
constexpr size_t kMaxSettled = 4096;  // settled ids forgotten at once beyond this
constexpr size_t kLogPage = 10000;    // records read per page at start-up

// The change takes effect only once this record is durable.
bool isEnabling(AccessEvent e) {
  return e == AccessEvent::kRoomCreated || e == AccessEvent::kInviteIssued ||
         e == AccessEvent::kParticipantJoined || e == AccessEvent::kConsultationStarted;
}

// A record's detail without what a late write adds.
nlohmann::json baseDetail(nlohmann::json d) {
  if (d.is_object()) {
    d.erase("recovered");
    d.erase("occurred_at");
  }
  if (d.is_object() && d.empty()) return nullptr;
  return d;
}

std::string changeKey(const AccessRecord& r) {
  std::string k(toString(r.event));
  for (const std::string* f : {&r.room, &r.invite, &r.session}) {
    k += '\n';
    k += *f;
  }
  return k;
}

bool sameChange(const AccessRecord& kept, const AccessRecord& logged) {
  return kept.event == logged.event && kept.room == logged.room && kept.invite == logged.invite &&
         kept.session == logged.session && kept.reason == logged.reason &&
         baseDetail(kept.detail) == baseDetail(logged.detail);
}

// A record written after its change: flagged, with the time the change was made (the record's
// own time is when it was written, as the chain requires).
AccessRecord late(const PendingRecord& p) {
  AccessRecord r = p.record;
  if (!r.detail.is_object()) r.detail = nlohmann::json::object();
  r.detail["recovered"] = true;
  r.detail["occurred_at"] = formatTime(p.occurred_us);
  return r;
}

Result<std::vector<PendingRecord>> allPending(Store& store) {
  std::vector<PendingRecord> out;
  for (int64_t after = 0;;) {
    auto page = store.pendingRecords(after, kLogPage);
    if (!page.ok()) return page.error();
    const size_t n = page->size();
    for (auto& p : *page) out.push_back(std::move(p));
    if (n < kLogPage) return out;
    after = out.back().id;
  }
}

struct KeptJoin {
  size_t pending = 0;
  std::optional<Error> first_error;
  ConsultationService::Done<void> done;
};

}  // namespace

Result<ConsultationService::PendingIds> ConsultationService::keep(const Records& records) {
  PendingIds ids;
  PendingRecord p;
  p.after_seq = log_.durableSeq();
  p.occurred_us = now();
  for (const auto& r : records) {
    p.record = r;
    auto id = store_.insertPending(p);
    if (!id.ok()) return id.error();
    ids.push_back(*id);
  }
  return ids;
}

Result<ConsultationService::PendingIds> ConsultationService::commitWith(
    const Records& records, const std::function<Result<void>()>& change) {
  auto tx = store_.begin();
  if (auto r = change(); !r.ok()) return r.error();
  auto ids = keep(records);
  if (!ids.ok()) return ids.error();
  if (auto r = tx->commit(); !r.ok()) return r.error();
  return ids;
}

void ConsultationService::appendKept(Records records, PendingIds ids, Done<void> done,
                                     bool first_attempt) {
  MEDRELAY_ASSERT(records.size() == ids.size(), "one pending id per record");
  if (records.empty()) {
    done(Result<void>());
    return;
  }
  auto join = std::make_shared<KeptJoin>();
  join->pending = records.size();
  join->done = std::move(done);
  std::weak_ptr<char> alive = alive_;
  for (size_t i = 0; i < records.size(); ++i) {
    const int64_t id = ids[i];
    const bool enabling = isEnabling(records[i].event);
    unsettled_.insert(id);
    if (first_attempt) noteRecord(records[i]);
    log_.append(std::move(records[i]),
                [this, alive, join, id, enabling](const Result<uint64_t>& seq) {
                  if (alive.lock()) {
                    if (seq.ok()) {
                      settled_.push_back(id);
                      if (settled_.size() >= kMaxSettled) forgetSettledRecords();
                    } else {
                      ++counters_.log_failures;
                      unsettled_.erase(id);
                      if (!enabling) owedWaiting_ = true;  // written once the log accepts it again
                    }
                  }
                  if (!seq.ok() && enabling && !join->first_error) join->first_error = seq.error();
                  if (--join->pending == 0) {
                    if (join->first_error) {
                      join->done(*join->first_error);
                    } else {
                      join->done(Result<void>());
                    }
                  }
                });
  }
}

Result<void> ConsultationService::undoEnabling(const AccessRecord& r, int64_t pending_id) {
  auto tx = store_.begin();
  Result<void> undone;
  switch (r.event) {
    case AccessEvent::kRoomCreated:
      undone = store_.deleteRoom(r.room);
      if (undone.ok()) undone = store_.removePendingOf(PendingOf::kRoom, r.room);
      break;
    case AccessEvent::kInviteIssued:
      undone = store_.deleteInvite(r.invite);
      if (undone.ok()) undone = store_.removePendingOf(PendingOf::kInvite, r.invite);
      break;
    case AccessEvent::kParticipantJoined:
      undone = store_.removeSession(r.session);
      if (undone.ok()) undone = store_.removePendingOf(PendingOf::kSession, r.session);
      break;
    default:  // consultation_started changed nothing before it was durable
      break;
  }
  if (undone.ok()) undone = store_.removePending({pending_id});
  if (undone.ok()) undone = tx->commit();
  if (!undone.ok()) {
    // The pending record stays: start-up undoes the change.
    log::get("store")->error("undoing an unlogged {}: {}", toString(r.event),
                             undone.error().message);
  }
  return undone;
}

Result<Room> ConsultationService::completeAdmission(const std::string& room_id, int64_t admitted_us,
                                                    int64_t pending_id) {
  auto room = loadRoom(room_id);
  if (!room.ok()) {
    if (room.error().code == "room_not_found") (void)store_.removePending({pending_id});
    return room.error();
  }
  if (room->state == RoomState::kScheduled || room->state == RoomState::kInConsultation) {
    if (room->state == RoomState::kScheduled) {
      room->state = RoomState::kInConsultation;
      room->admitted_us = admitted_us;
    }
    auto tx = store_.begin();
    if (auto r = store_.updateRoom(*room); !r.ok()) return r.error();
    if (auto r = store_.removePending({pending_id}); !r.ok()) return r.error();
    if (auto r = tx->commit(); !r.ok()) return r.error();
    return room;
  }
  // Cancelled or closed while consultation_started was being written: the log holds a start, so
  // it gets the end too, with the room's reason.
  AccessRecord end = record(AccessEvent::kConsultationEnded, *room);
  end.reason = room->end_reason.empty() ? std::string("cancelled") : room->end_reason;
  auto ids = commitWith({end}, [&] { return store_.removePending({pending_id}); });
  if (!ids.ok()) return ids.error();
  appendKept({std::move(end)}, std::move(*ids), [](const Result<void>&) {});
  if (room->state == RoomState::kCancelled) {
    return makeError("room_cancelled", "the consultation was cancelled while it was starting");
  }
  return makeError("room_ended", "the consultation ended while it was starting");
}

Error ConsultationService::endedWhileJoining(const Session& s) {
  auto inv = store_.invite(s.invite_id);
  auto room = loadRoom(s.room_id);
  if (inv.ok() && inv->has_value() && room.ok()) {
    if (auto r = checkInviteWindow(*room, **inv, s.room_id, now()); !r.ok()) return r.error();
  }
  return makeError("session_ended", "the session was ended while it was being set up");
}

void ConsultationService::forgetSettledRecords() {
  if (settled_.empty()) return;
  PendingIds ids;
  ids.swap(settled_);
  if (auto r = store_.removePending(ids); !r.ok()) {
    // Still unsettled_: never written twice. Tried again on the next tick.
    log::get("store")->warn("forgetting {} logged records: {}", ids.size(), r.error().message);
    settled_.insert(settled_.end(), ids.begin(), ids.end());
    return;
  }
  for (const int64_t id : ids) unsettled_.erase(id);
}

void ConsultationService::retryOwedRecords() {
  if (!owedWaiting_ || log_.unhealthy()) return;
  Records records;
  PendingIds ids;
  bool more = false;
  for (int64_t after = 0; !more;) {
    auto page = store_.pendingRecords(after, kPendingPage);
    if (!page.ok()) return;
    for (const auto& p : *page) {
      after = p.id;
      // In flight, logged, or enabling (undone, never retried).
      if (unsettled_.count(p.id) != 0 || isEnabling(p.record.event)) continue;
      if (records.size() == kPendingPage) {
        more = true;
        break;
      }
      records.push_back(late(p));
      ids.push_back(p.id);
    }
    if (page->size() < kPendingPage) break;
  }
  owedWaiting_ = more;
  if (records.empty()) return;
  MR_LOG_INFO(log::get("policy"), "writing {} access-log records owed since the log failed",
              records.size());
  appendKept(
      std::move(records), std::move(ids), [](const Result<void>&) {}, false);
}

void ConsultationService::onTick() {
  checkWindows();
  retryOwedRecords();
  forgetSettledRecords();
}

Result<void> ConsultationService::recoverPending() {
  auto pending = allPending(store_);
  if (!pending.ok()) return pending.error();
  if (pending->empty()) return {};

  // Which of them reached the log: a change's record can only be one appended after the change
  // (sequence number above its after_seq); each logged record settles one pending record.
  std::unordered_map<std::string, std::vector<size_t>> byChange;
  uint64_t from = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i < pending->size(); ++i) {
    byChange[changeKey((*pending)[i].record)].push_back(i);
    from = std::min(from, (*pending)[i].after_seq);
  }
  std::vector<bool> logged(pending->size(), false);
  AccessLogQuery q;
  q.after_seq = from;
  q.limit = kLogPage;
  for (;;) {
    auto page = AccessLogReader(log_.dir()).query(q);
    if (!page.ok()) return page.error();
    for (const auto& r : *page) {
      auto it = byChange.find(changeKey(r));
      if (it == byChange.end()) continue;
      for (const size_t i : it->second) {
        const PendingRecord& p = (*pending)[i];
        if (!logged[i] && p.after_seq < r.seq && sameChange(p.record, r)) {
          logged[i] = true;
          break;
        }
      }
    }
    if (page->size() < q.limit) break;
    q.after_seq = page->back().seq;
  }

  // Enabling changes: kept if logged (an admission is completed), undone if not. Owed records
  // that are logged are forgotten; the others are written below, flagged.
  size_t undone = 0;
  size_t completed = 0;
  PendingIds forget;
  for (size_t i = 0; i < pending->size(); ++i) {
    const PendingRecord& p = (*pending)[i];
    if (!isEnabling(p.record.event)) {
      if (logged[i]) forget.push_back(p.id);
      continue;
    }
    if (!logged[i]) {
      if (auto r = undoEnabling(p.record, p.id); !r.ok()) return r;
      ++undone;
    } else if (p.record.event == AccessEvent::kConsultationStarted) {
      auto room = completeAdmission(p.record.room, p.occurred_us, p.id);
      if (!room.ok() && room.error().code == "store_error") return room.error();
      ++completed;
    } else {
      forget.push_back(p.id);
    }
  }
  if (auto r = store_.removePending(forget); !r.ok()) return r;

  auto owed = allPending(store_);
  if (!owed.ok()) return owed.error();
  size_t written = 0;
  for (const auto& p : *owed) {
    if (isEnabling(p.record.event) || unsettled_.count(p.id) != 0) continue;
    if (auto seq = log_.appendSync(late(p)); !seq.ok()) {
      owedWaiting_ = true;  // the timer writes the rest once the log accepts them
      log::get("policy")->error("writing owed access-log records: {}", seq.error().message);
      break;
    }
    settled_.push_back(p.id);
    ++written;
  }
  forgetSettledRecords();
  if (undone + completed + written > 0) {
    MR_LOG_WARN(log::get("policy"),
                "settled pending access-log records: {} undone (never logged), {} admissions "
                "completed, {} written late, {} already logged",
                undone, completed, written, forget.size());
  }
  return {};
}

Result<void> ConsultationService::start() {
  if (auto r = deadInvites_.load(store_, now()); !r.ok()) return r.error();
  if (auto r = recoverPending(); !r.ok()) return r;
  // Sessions live before the restart end now; their records are kept with the change, so a log
  // that refuses them writes them later.
  auto tx = store_.begin();
  auto sessions = store_.takeAllSessions();
  if (!sessions.ok()) return sessions.error();
  Records ended = leftRecords(*sessions, "server-restart");
  auto ids = keep(ended);
  if (!ids.ok()) return ids.error();
  if (auto r = tx->commit(); !r.ok()) return r;
  for (size_t i = 0; i < ended.size(); ++i) {
    noteRecord(ended[i]);
    if (auto seq = log_.appendSync(std::move(ended[i])); !seq.ok()) {
      owedWaiting_ = true;
      log::get("policy")->error("server-restart records owed: {}", seq.error().message);
      break;
    }
    settled_.push_back((*ids)[i]);
  }
  forgetSettledRecords();
  if (!sessions->empty()) {
    log::get("policy")->info("ended {} sessions left from before the restart", sessions->size());
  }
  checkWindows();
  windowTimer_.start(options_.window_tick, options_.window_tick);
  return {};
}

}  // namespace medrelay::control
