#include "control/consultation_service.h"

#include <algorithm>

#include "common/logging.h"

namespace medrelay::control {
namespace {

// Joins several durable callbacks into one.
struct AppendJoin {
  size_t pending = 0;
  std::optional<Error> first_error;
  ConsultationService::Done<void> done;
};

}  // namespace

ConsultationService::ConsultationService(net::Dispatcher& dispatcher, Store& store, AccessLog& log,
                                         Clock& clock, ConsultationServiceOptions options)
    : dispatcher_(dispatcher),
      store_(store),
      log_(log),
      clock_(clock),
      options_(options),
      tokens_(options.token_pepper),
      limiter_(options.rate_limit),
      events_(dispatcher),
      windowTimer_(dispatcher, [this] { onTick(); }) {}

ConsultationService::~ConsultationService() {
  windowTimer_.stop();
  forgetSettledRecords();  // what is still pending after this, start-up finds in the log
}

Error ConsultationService::logUnavailable() const {
  return makeError("access_log_unavailable",
                   "the access log cannot be written: no consultation changes until it recovers");
}

void ConsultationService::append(Records records, Done<void> done) {
  if (records.empty()) {
    done(Result<void>());
    return;
  }
  auto join = std::make_shared<AppendJoin>();
  join->pending = records.size();
  join->done = std::move(done);
  std::weak_ptr<char> alive = alive_;
  for (auto& r : records) {
    noteRecord(r);
    log_.append(std::move(r), [this, alive, join](Result<uint64_t> seq) {
      if (!seq.ok()) {
        if (alive.lock()) ++counters_.log_failures;
        if (!join->first_error) join->first_error = seq.error();
      }
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

void ConsultationService::noteRecord(const AccessRecord& r) {
  ++counters_.changes[std::string(toString(r.event))];
  // Ids and bounded values only: never the subject, the remote address or a token.
  MR_LOG_INFO_CTX(log::get("policy"),
                  log::context({{"room", r.room},
                                {"session", r.session},
                                {"invite", r.invite},
                                {"role", r.role},
                                {"reason", r.reason}}),
                  "{}", toString(r.event));
}

AccessRecord ConsultationService::record(AccessEvent event, const Room& room) const {
  AccessRecord r;
  r.event = event;
  r.room = room.id;
  return r;
}

AccessRecord ConsultationService::record(AccessEvent event, const Session& s,
                                         std::string_view reason) const {
  AccessRecord r;
  r.event = event;
  r.room = s.room_id;
  r.invite = s.invite_id;
  r.role = std::string(toString(s.role));
  r.subject = s.subject;
  r.session = s.id;
  r.remote = s.remote;
  r.transport = s.transport;
  r.reason = std::string(reason);
  r.detail = {{"direction", toString(s.direction)}};
  if (event == AccessEvent::kParticipantLeft) {
    // How the link was, in numbers only (docs/access-log.md "participant_left").
    r.detail["duration_s"] = std::max<int64_t>(0, clock_.nowUs() - s.started_us) / 1000000;
    if (auto summary = quality_.take(s.id)) r.detail.update(summary->detail());
  }
  return r;
}

Result<Room> ConsultationService::loadRoom(const std::string& room_id) {
  auto room = store_.room(room_id);
  if (!room.ok()) return room.error();
  if (!room->has_value()) return makeError("room_not_found", "no such room");
  return std::move(**room);
}

void ConsultationService::createRoom(const CreateRoomRequest& req, Done<Room> done) {
  if (log_.unhealthy()) return done(logUnavailable());
  const int64_t now_us = now();
  Room room;
  room.id = newId("rm_");
  room.mode = req.mode;
  room.scheduled_start_us = req.scheduled_start_us.value_or(now_us);
  room.opens_at_us = req.opens_at_us.value_or(room.scheduled_start_us - kDefaultOpenBeforeUs);
  room.closes_at_us = req.closes_at_us.value_or(room.scheduled_start_us + kDefaultCloseAfterUs);
  if (room.opens_at_us > room.scheduled_start_us) {
    return done(makeError("invalid_field", "opens_at: must not be after scheduled_start"));
  }
  if (room.closes_at_us <= room.scheduled_start_us) {
    return done(makeError("invalid_field", "closes_at: must be after scheduled_start"));
  }
  if (room.closes_at_us - room.opens_at_us > kMaxWindowUs) {
    return done(makeError("invalid_field", "closes_at: the window is longer than 31 days"));
  }
  if (room.closes_at_us <= now_us) {
    return done(makeError("invalid_field", "closes_at: the window has already closed"));
  }
  room.institution_id = req.institution_id;
  room.institution_contact = req.institution_contact;
  room.doctor_display_name = req.doctor_display_name;
  room.title = req.title;
  room.external_ref = req.external_ref;
  room.created_us = now_us;

  // No names or titles in the log, so no patient data accumulates there (docs/compliance.md): the
  // window and mode only.
  AccessRecord rec = record(AccessEvent::kRoomCreated, room);
  rec.detail = {{"mode", toString(room.mode)},
                {"scheduled_start", formatTime(room.scheduled_start_us)},
                {"opens_at", formatTime(room.opens_at_us)},
                {"closes_at", formatTime(room.closes_at_us)}};
  auto ids = commitWith({rec}, [&] { return store_.insertRoom(room); });
  if (!ids.ok()) return done(ids.error());
  const int64_t id = ids->front();
  std::weak_ptr<char> alive = alive_;
  appendKept({rec}, std::move(*ids),
             [this, alive, id, rec, room, done = std::move(done)](const Result<void>& r) {
               if (!r.ok()) {
                 if (alive.lock()) (void)undoEnabling(rec, id);  // never announced, never logged
                 return done(r.error());
               }
               // In a cluster the room's records live here: Redis learns it before the answer,
               // so a join through any node finds the room (docs/cluster.md).
               if (alive.lock() && cluster_ != nullptr) {
                 return cluster_->roomCreated(room.id, [room, done] { done(room); });
               }
               done(room);
             });
}

Result<RoomDetail> ConsultationService::getRoom(const std::string& room_id) {
  auto room = loadRoom(room_id);
  if (!room.ok()) return room.error();
  auto sessions = store_.sessionsOfRoom(room_id);
  if (!sessions.ok()) return sessions.error();
  for (Session& s : *sessions) s.quality = quality_.latest(s.id);
  return RoomDetail{std::move(*room), std::move(*sessions)};
}

Result<RoomPage> ConsultationService::listRooms(const RoomFilter& filter) {
  return store_.listRooms(filter, now());
}

void ConsultationService::patchRoom(const std::string& room_id, const PatchRoomRequest& req,
                                    Done<Room> done) {
  if (log_.unhealthy()) return done(logUnavailable());
  auto room = loadRoom(room_id);
  if (!room.ok()) return done(room.error());
  if (!room->live()) {
    AccessRecord ctx = record(AccessEvent::kJoinRefused, *room);
    ctx.detail = {{"op", "patch_room"}};
    return refuse(AccessEvent::kJoinRefused, std::move(ctx),
                  makeError(room->state == RoomState::kCancelled ? "room_cancelled" : "room_ended",
                            "an ended or cancelled consultation cannot be edited"),
                  std::move(done));
  }
  nlohmann::json fields = nlohmann::json::array();
  if (req.title) {
    room->title = *req.title;
    fields.push_back("title");
  }
  if (req.doctor_display_name) {
    room->doctor_display_name = *req.doctor_display_name;
    fields.push_back("doctor_display_name");
  }
  AccessRecord rec = record(AccessEvent::kRoomEdited, *room);
  rec.detail = {{"fields", fields}};
  auto ids = commitWith({rec}, [&] { return store_.updateRoom(*room); });
  if (!ids.ok()) return done(ids.error());
  answerWhenKept<Room>({std::move(rec)}, std::move(*ids), std::move(*room), std::move(done));
}

void ConsultationService::cancelRoom(const std::string& room_id, Done<Room> done) {
  // Disabling: done even while the log cannot be written (its records are owed).
  auto room = loadRoom(room_id);
  if (!room.ok()) return done(room.error());
  if (room->state == RoomState::kCancelled) return done(std::move(*room));  // idempotent
  if (room->state == RoomState::kEnded) {
    return done(makeError("room_ended", "the consultation has already ended"));
  }
  auto invites = store_.invitesOfRoom(room_id);
  if (!invites.ok()) return done(invites.error());
  auto sessions = store_.sessionsOfRoom(room_id);
  if (!sessions.ok()) return done(sessions.error());
  const bool was_admitted = room->state == RoomState::kInConsultation;
  room->state = RoomState::kCancelled;
  room->ended_us = now();
  room->end_reason = "cancelled";

  Records records = leftRecords(*sessions, "cancelled");
  records.push_back(record(AccessEvent::kRoomCancelled, *room));
  for (const auto& inv : *invites) {
    if (!inv.live()) continue;
    AccessRecord r = record(AccessEvent::kInviteRevoked, *room);
    r.invite = inv.id;
    r.role = std::string(toString(inv.role));
    r.subject = inv.subject;
    r.reason = "cancelled";
    records.push_back(std::move(r));
  }
  if (was_admitted) {
    AccessRecord r = record(AccessEvent::kConsultationEnded, *room);
    r.reason = "cancelled";
    records.push_back(std::move(r));
  }
  auto ids = commitWith(records, [&] { return store_.closeRoom(*room, true); });
  if (!ids.ok()) return done(ids.error());
  // Media stops before the records are written (docs/policy.md rule 7).
  endSessions(*sessions, "cancelled");
  for (const auto& inv : *invites) {
    if (inv.live()) inviteEnded(inv);
  }
  events_.publish(
      RoomEvent{RoomEventType::kCancelled, room_id, {}, {}, {}, {}, "cancelled", room->ended_us});
  answerWhenKept<Room>(std::move(records), std::move(*ids), std::move(*room), std::move(done));
}

void ConsultationService::createInvite(const std::string& room_id, const CreateInviteRequest& req,
                                       Done<IssuedInvite> done) {
  if (log_.unhealthy()) return done(logUnavailable());
  auto room = loadRoom(room_id);
  if (!room.ok()) return done(room.error());
  auto invites = store_.invitesOfRoom(room_id);
  if (!invites.ok()) return done(invites.error());
  const int64_t now_us = now();
  if (auto r = checkInviteAllowed(*room, *invites, req.role, req.consent.has_value(), now_us);
      !r.ok()) {
    AccessRecord ctx = record(AccessEvent::kJoinRefused, *room);
    ctx.role = std::string(toString(req.role));
    ctx.subject = req.subject;
    ctx.detail = {{"op", "create_invite"}};
    return refuse(AccessEvent::kJoinRefused, std::move(ctx), r.error(), std::move(done));
  }
  IssuedInvite issued;
  issued.token = tokens_.generate();
  Invite& inv = issued.invite;
  inv.id = newId("inv_");
  inv.room_id = room_id;
  inv.role = req.role;
  inv.subject = req.subject;
  inv.token_hash = tokens_.hash(issued.token);
  inv.created_us = now_us;
  inv.expires_us = room->closes_at_us;
  inv.consent = req.consent;

  AccessRecord rec = record(AccessEvent::kInviteIssued, *room);
  rec.invite = inv.id;
  rec.role = std::string(toString(inv.role));
  rec.subject = inv.subject;
  if (inv.consent) {
    rec.detail = {{"consent_given_by", inv.consent->given_by},
                  {"consent_given_at", formatTime(inv.consent->given_at_us)},
                  {"consent_role", toString(inv.consent->role)}};
  }
  // The invite and its pending record commit together: a crash before the record is durable
  // leaves an invite that start-up removes again (its token was never shown).
  auto ids = commitWith({rec}, [&] { return store_.insertInvite(inv); });
  if (!ids.ok()) return done(ids.error());
  const int64_t id = ids->front();
  std::weak_ptr<char> alive = alive_;
  appendKept({rec}, std::move(*ids),
             [this, alive, id, rec, issued = std::move(issued),
              done = std::move(done)](const Result<void>& r) {
               if (!r.ok()) {
                 if (alive.lock()) (void)undoEnabling(rec, id);
                 return done(r.error());
               }
               done(issued);
             });
}

Result<std::vector<Invite>> ConsultationService::listInvites(const std::string& room_id) {
  if (auto room = loadRoom(room_id); !room.ok()) return room.error();
  return store_.invitesOfRoom(room_id);
}

void ConsultationService::revokeInvite(const std::string& room_id, const std::string& invite_id,
                                       Done<Invite> done) {
  // Disabling: done even while the log cannot be written (its records are owed).
  auto inv = store_.invite(invite_id);
  if (!inv.ok()) return done(inv.error());
  if (!inv->has_value() || (*inv)->room_id != room_id) {
    return done(makeError("invite_not_found", "no such invite in this room"));
  }
  Invite invite = std::move(**inv);
  if (!invite.live()) return done(std::move(invite));  // idempotent
  auto sessions = store_.sessionsOfInvite(invite_id);
  if (!sessions.ok()) return done(sessions.error());
  invite.revoked_us = now();
  Records records = leftRecords(*sessions, "revoked");
  AccessRecord rec;
  rec.event = AccessEvent::kInviteRevoked;
  rec.room = room_id;
  rec.invite = invite.id;
  rec.role = std::string(toString(invite.role));
  rec.subject = invite.subject;
  rec.reason = "revoked";
  records.push_back(std::move(rec));
  auto ids = commitWith(records, [&] { return store_.revokeInvite(invite_id, invite.revoked_us); });
  if (!ids.ok()) return done(ids.error());
  // The invite's own event streams end first, so not even its own `left` reaches them.
  events_.publish(RoomEvent{RoomEventType::kRevoked,
                            room_id,
                            invite.id,
                            invite.role,
                            invite.subject,
                            {},
                            "revoked",
                            invite.revoked_us});
  endSessions(*sessions, "revoked");  // media stops before the records are written
  inviteEnded(invite);
  answerWhenKept<Invite>(std::move(records), std::move(*ids), std::move(invite), std::move(done));
}

void ConsultationService::inviteEnded(const Invite& invite) {
  deadInvites_.add(invite.id, invite.expires_us, now());
  if (inviteRevokedHook_) inviteRevokedHook_(invite.id);
}

Result<Room> ConsultationService::authorizeDoctorAction(const std::string& room_id,
                                                        const Caller& caller, std::string_view op,
                                                        AccessRecord* context) {
  context->event = AccessEvent::kApiAuthFailed;
  context->room = room_id;
  context->remote = caller.remote;
  context->detail = {{"op", op}};
  if (!caller.backend) {
    bool quiet = false;
    auto resolved = resolveToken(caller.token, caller.remote, &quiet);
    if (!resolved.ok()) return resolved.error();
    const Invite& inv = resolved->invite;
    context->invite = inv.id;
    context->role = std::string(toString(inv.role));
    context->subject = inv.subject;
    if (inv.room_id != room_id) return makeError("wrong_room", "this invite is for another room");
    if (!inv.live()) return makeError("invite_revoked", "this invite was revoked");
    if (inv.role != Role::kDoctor) {
      return makeError("forbidden_role", "only the consulting doctor may do this");
    }
  }
  context->event = AccessEvent::kJoinRefused;  // what follows are consultation-state refusals
  return loadRoom(room_id);
}

void ConsultationService::admit(const std::string& room_id, const Caller& caller, Done<Room> done) {
  if (log_.unhealthy()) return done(logUnavailable());
  if (auto it = admitting_.find(room_id); it != admitting_.end()) {
    // Another admission of this room is being written: this one is decided after it.
    it->second.emplace_back([this, room_id, caller, done = std::move(done)]() mutable {
      admit(room_id, caller, std::move(done));
    });
    return;
  }
  AccessRecord ctx;
  auto room = authorizeDoctorAction(room_id, caller, "admit", &ctx);
  if (!room.ok()) {
    if (room.error().code == "room_not_found") return done(room.error());
    return refuse(ctx.event, std::move(ctx), room.error(), std::move(done));
  }
  const int64_t now_us = now();
  std::optional<Error> refusal;
  if (room->state == RoomState::kCancelled) {
    refusal = makeError("room_cancelled", "the consultation was cancelled");
  } else if (room->state == RoomState::kEnded) {
    refusal = makeError("room_ended", "the consultation has ended");
  } else if (room->state == RoomState::kInConsultation) {
    refusal = makeError("already_admitted", "the patient was already admitted");
  } else if (now_us < room->opens_at_us) {
    refusal = makeError("not_yet_open", "the consultation's window has not opened yet (opens at " +
                                            formatTime(room->opens_at_us) + ")");
  } else if (now_us >= room->closes_at_us) {
    refusal = makeError("window_closed", "the consultation's window has closed");
  }
  if (refusal) return refuse(ctx.event, std::move(ctx), *refusal, std::move(done));

  // Enabling: the room goes into consultation, and forwarding starts (the admitted event), only
  // once consultation_started is durable; until then only the pending record exists.
  AccessRecord rec = std::move(ctx);
  rec.event = AccessEvent::kConsultationStarted;
  rec.detail = {{"by", caller.backend ? "backend" : "doctor"}};
  auto ids = commitWith({rec}, [] { return Result<void>(); });
  if (!ids.ok()) return done(ids.error());
  const int64_t id = ids->front();
  admitting_[room_id];
  std::weak_ptr<char> alive = alive_;
  appendKept(
      {rec}, std::move(*ids),
      [this, alive, id, now_us, room_id, rec, by_backend = caller.backend,
       done = std::move(done)](const Result<void>& logged) {
        if (!alive.lock()) return done(makeError("unavailable", "the service stopped"));
        auto waiting = std::move(admitting_[room_id]);
        admitting_.erase(room_id);
        Result<Room> started =
            logged.ok() ? completeAdmission(room_id, now_us, id) : Result<Room>(logged.error());
        if (!logged.ok()) (void)undoEnabling(rec, id);
        if (started.ok()) {
          if (terminator_ != nullptr) terminator_->consultationStarted(room_id);
          events_.publish(RoomEvent{RoomEventType::kAdmitted,
                                    room_id,
                                    rec.invite,
                                    by_backend ? std::nullopt : std::optional<Role>(Role::kDoctor),
                                    rec.subject,
                                    {},
                                    {},
                                    now_us});
        }
        done(std::move(started));
        for (auto& next : waiting) next();
      });
}

void ConsultationService::endConsultation(const std::string& room_id, const Caller& caller,
                                          Done<Room> done) {
  // Disabling: done even while the log cannot be written (its records are owed).
  AccessRecord ctx;
  auto room = authorizeDoctorAction(room_id, caller, "end", &ctx);
  if (!room.ok()) {
    if (room.error().code == "room_not_found") return done(room.error());
    return refuse(ctx.event, std::move(ctx), room.error(), std::move(done));
  }
  if (room->state != RoomState::kInConsultation) {
    return refuse(ctx.event, std::move(ctx),
                  makeError("not_admitted", "only a consultation in progress can be ended"),
                  std::move(done));
  }
  auto sessions = store_.sessionsOfRoom(room_id);
  if (!sessions.ok()) return done(sessions.error());
  auto invites = store_.invitesOfRoom(room_id);
  if (!invites.ok()) return done(invites.error());
  room->state = RoomState::kEnded;
  room->ended_us = now();
  room->end_reason = "hangup";
  Records records = leftRecords(*sessions, "hangup");
  AccessRecord rec = std::move(ctx);
  rec.event = AccessEvent::kConsultationEnded;
  rec.reason = "hangup";
  records.push_back(std::move(rec));
  auto ids = commitWith(records, [&] { return store_.closeRoom(*room, false); });
  if (!ids.ok()) return done(ids.error());
  endSessions(*sessions, "hangup");  // media stops before the records are written
  // No one joins an ended room again (room_ended): its invites' TURN credentials die with it.
  for (const auto& inv : *invites) {
    if (inv.live()) inviteEnded(inv);
  }
  events_.publish(
      RoomEvent{RoomEventType::kEnded, room_id, {}, {}, {}, {}, "hangup", room->ended_us});
  answerWhenKept<Room>(std::move(records), std::move(*ids), std::move(*room), std::move(done));
}

void ConsultationService::recordRefusal(const std::string& room_id, std::string_view op,
                                        const Error& error, Done<void> done) {
  AccessRecord ctx;
  ctx.room = room_id;
  ctx.detail = {{"op", op}};
  refuse(AccessEvent::kJoinRefused, std::move(ctx), error, std::move(done));
}

nlohmann::json errorBody(const Error& error) {
  nlohmann::json j = {{"code", error.code}, {"message", error.message}};
  if (error.code == "not_yet_open") {
    j["message_ja"] = kNotYetOpenMessageJa;
    constexpr std::string_view kMarker = "opens at ";
    const size_t at = error.message.rfind(kMarker);
    if (at != std::string::npos) {
      const size_t begin = at + kMarker.size();
      const size_t end = error.message.find(')', begin);
      j["opens_at"] = error.message.substr(begin, end == std::string::npos ? end : end - begin);
    }
  }
  if (const auto field = errorField(error); !field.empty() && policyStatus(error.code) == 400) {
    j["field"] = field;
  }
  return j;
}

}  // namespace medrelay::control
