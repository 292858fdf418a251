// ConsultationService: joins, live sessions, windows and restart (the room and invite
// operations are in consultation_service.cpp).
#include <algorithm>

#include "common/logging.h"
#include "control/consultation_service.h"

namespace medrelay::control {
namespace {

bool holdsDoctorSeat(Role role) {
  return role == Role::kDoctor || role == Role::kAttendingDoctor;
}

}  // namespace

Result<ConsultationService::Resolved> ConsultationService::resolveToken(const std::string& token,
                                                                        const std::string& remote,
                                                                        bool* quiet_refusal) {
  const int64_t now_us = now();
  switch (limiter_.check(remote, now_us)) {
    case AuthRateLimiter::Verdict::kAllow:
      break;
    case AuthRateLimiter::Verdict::kRefuseQuietly:
      *quiet_refusal = true;
      [[fallthrough]];
    case AuthRateLimiter::Verdict::kRefuse:
      return makeError("rate_limited", "too many failed attempts from this address; wait");
  }
  auto fail = [&]() -> Error {
    limiter_.recordFailure(remote, now_us);
    return makeError("invalid_token", "the invite token is not valid");
  };
  if (!InviteTokens::wellFormed(token)) return fail();
  const std::string hash = tokens_.hash(token);
  auto inv = store_.inviteByHash(hash);
  if (!inv.ok()) return inv.error();
  if (!inv->has_value() || !InviteTokens::hashesEqual((*inv)->token_hash, hash)) return fail();
  auto room = loadRoom((*inv)->room_id);
  if (!room.ok()) return room.error();
  return Resolved{std::move(**inv), std::move(*room)};
}

Result<void> ConsultationService::checkLiveSessions(const Invite& invite, SessionKind direction,
                                                    std::string* takeover_session) {
  // Rule 3: a doctor is live in one room at a time, so a doctor never sees several patients at
  // once (docs/policy.md, docs/compliance.md).
  if (holdsDoctorSeat(invite.role)) {
    auto mine = store_.sessionsOfSubject(invite.subject);
    if (!mine.ok()) return mine.error();
    for (const auto& s : *mine) {
      if (holdsDoctorSeat(s.role) && s.room_id != invite.room_id) {
        return makeError("doctor_busy",
                         "this doctor is connected to another consultation; leave it first");
      }
    }
  }
  auto sessions = store_.sessionsOfInvite(invite.id);
  if (!sessions.ok()) return sessions.error();
  size_t same_direction = 0;
  for (const auto& s : *sessions) {
    if (s.direction != direction) continue;
    ++same_direction;
    // Rule 5: one live publish session per invite; a stale one is taken over.
    if (direction == SessionKind::kPublish) {
      if (!s.stale) {
        return makeError("already_connected", "this invite is already connected from elsewhere");
      }
      *takeover_session = s.id;
    }
  }
  if (direction == SessionKind::kSubscribe &&
      same_direction >= options_.max_subscriptions_per_invite) {
    return makeError("too_many_sessions", "too many subscriptions for this invite");
  }
  return {};
}

void ConsultationService::authorizeJoin(const JoinRequest& req, Done<JoinGrant> done) {
  AccessRecord ctx;
  ctx.room = req.room_id;
  ctx.remote = req.remote;
  ctx.transport = req.transport;
  ctx.detail = {{"direction", toString(req.direction)}};
  if (log_.unhealthy()) {
    // Nothing can be logged: refuse without a record (docs/policy.md rule 8: while the access log
    // cannot be written no one joins, since the join could not be accounted for).
    counters_.countRefusal("", "access_log_unavailable");
    return done(logUnavailable());
  }
  bool quiet = false;
  auto resolved = resolveToken(req.token, req.remote, &quiet);
  if (!resolved.ok()) {
    if (quiet) {
      counters_.countRefusal("", resolved.error().code);
      return done(resolved.error());
    }
    return refuse(AccessEvent::kJoinRefused, std::move(ctx), resolved.error(), std::move(done));
  }
  const Invite& inv = resolved->invite;
  ctx.invite = inv.id;
  ctx.role = std::string(toString(inv.role));
  ctx.subject = inv.subject;
  if (auto r = checkInviteWindow(resolved->room, inv, req.room_id, now()); !r.ok()) {
    return refuse(AccessEvent::kJoinRefused, std::move(ctx), r.error(), std::move(done));
  }
  JoinGrant grant;
  if (auto r = checkLiveSessions(inv, req.direction, &grant.takeover_session); !r.ok()) {
    return refuse(AccessEvent::kJoinRefused, std::move(ctx), r.error(), std::move(done));
  }
  grant.session_id = newId("ses_");
  grant.room_id = inv.room_id;
  grant.invite_id = inv.id;
  grant.role = inv.role;
  grant.subject = inv.subject;
  grant.direction = req.direction;
  grant.remote = req.remote;
  grant.transport = req.transport;
  if (cluster_ != nullptr && holdsDoctorSeat(inv.role)) {
    return grantAfterLease(std::move(grant), std::move(ctx), std::move(done));
  }
  done(std::move(grant));
}

void ConsultationService::grantAfterLease(JoinGrant grant, AccessRecord ctx, Done<JoinGrant> done) {
  // Rule 3 across the cluster: the subject's lease in Redis names at most one room. The refusal
  // has today's shape for the participant; only the access log (the backend's) names the room
  // that holds the lease.
  std::weak_ptr<char> alive = alive_;
  const std::string subject = grant.subject;
  const std::string room = grant.room_id;
  cluster_->acquireDoctor(
      subject, room,
      [this, alive, grant = std::move(grant), ctx = std::move(ctx), done = std::move(done)](
          Result<void> r, const std::string& other_room) mutable {
        if (alive.expired()) return;
        if (r.ok()) return done(std::move(grant));
        if (r.error().code == "doctor_busy") {
          ctx.detail["other_room"] = other_room;
          return refuse(AccessEvent::kJoinRefused, std::move(ctx), r.error(), std::move(done));
        }
        // The store is unreachable: no new join can be checked (docs/cluster.md "Store outage").
        counters_.countRefusal(ctx.role, r.error().code);
        done(r.error());
      });
}

void ConsultationService::releaseDoctorIfLast(const Session& ended) {
  if (cluster_ == nullptr || !holdsDoctorSeat(ended.role)) return;
  if (!doctorLiveIn(ended.subject, ended.room_id)) {
    cluster_->releaseDoctor(ended.subject, ended.room_id);
  }
}

bool ConsultationService::doctorLiveIn(const std::string& subject, const std::string& room_id) {
  auto mine = store_.sessionsOfSubject(subject);
  if (!mine.ok()) return true;  // keep the lease while unsure
  return std::any_of(mine->begin(), mine->end(), [&](const Session& s) {
    return holdsDoctorSeat(s.role) && s.room_id == room_id;
  });
}

std::vector<std::string> ConsultationService::joinableRoomIds(size_t limit) {
  std::vector<std::string> out;
  const int64_t now_us = now();
  RoomFilter filter;
  filter.limit = 500;
  while (out.size() < limit) {
    auto page = store_.listRooms(filter, now_us);
    if (!page.ok()) break;
    for (const Room& r : page->rooms) {
      const RoomState st = r.effectiveState(now_us);
      if (st != RoomState::kEnded && st != RoomState::kCancelled && r.closes_at_us > now_us &&
          out.size() < limit) {
        out.push_back(r.id);
      }
    }
    if (page->next_cursor.empty()) break;
    filter.cursor = page->next_cursor;
  }
  return out;
}

bool ConsultationService::roomHasSessions(const std::string& room_id) {
  auto sessions = store_.sessionsOfRoom(room_id);
  return !sessions.ok() || !sessions->empty();
}

void ConsultationService::endRoomSessions(const std::string& room_id, std::string_view reason,
                                          Done<void> done, const std::string& subject) {
  auto all = store_.sessionsOfRoom(room_id);
  if (!all.ok()) return done(all.error());
  std::vector<Session> sessions;
  for (const Session& s : *all) {
    if (subject.empty() || (s.subject == subject && holdsDoctorSeat(s.role))) sessions.push_back(s);
  }
  if (sessions.empty()) return done(Result<void>());
  Records records = leftRecords(sessions, reason);
  auto ids = commitWith(records, [&]() -> Result<void> {
    for (const Session& s : sessions) {
      if (auto r = store_.removeSession(s.id); !r.ok()) return r;
    }
    return {};
  });
  if (!ids.ok()) return done(ids.error());
  endSessions(sessions, reason);
  appendKept(std::move(records), std::move(*ids), std::move(done));
}

void ConsultationService::sessionStarted(const JoinGrant& grant, Done<Session> done) {
  if (log_.unhealthy()) return done(logUnavailable());
  AccessRecord ctx;
  ctx.room = grant.room_id;
  ctx.invite = grant.invite_id;
  ctx.role = std::string(toString(grant.role));
  ctx.subject = grant.subject;
  ctx.session = grant.session_id;
  ctx.remote = grant.remote;
  ctx.transport = grant.transport;
  ctx.detail = {{"direction", toString(grant.direction)}};
  // The state may have changed while the media plane set the session up: check again.
  auto inv = store_.invite(grant.invite_id);
  if (!inv.ok()) return done(inv.error());
  if (!inv->has_value()) return done(makeError("invalid_token", "the invite no longer exists"));
  auto room = loadRoom(grant.room_id);
  if (!room.ok()) return done(room.error());
  const int64_t now_us = now();
  if (auto r = checkInviteWindow(*room, **inv, grant.room_id, now_us); !r.ok()) {
    return refuse(AccessEvent::kJoinRefused, std::move(ctx), r.error(), std::move(done));
  }
  std::string takeover;
  if (auto r = checkLiveSessions(**inv, grant.direction, &takeover); !r.ok()) {
    return refuse(AccessEvent::kJoinRefused, std::move(ctx), r.error(), std::move(done));
  }
  auto before = store_.sessionsOfInvite(grant.invite_id);
  if (!before.ok()) return done(before.error());

  Session s;
  s.id = grant.session_id;
  s.room_id = grant.room_id;
  s.invite_id = grant.invite_id;
  s.role = grant.role;
  s.subject = grant.subject;
  s.direction = grant.direction;
  s.transport = grant.transport;
  s.remote = grant.remote;
  s.started_us = now_us;
  // The session row and its pending records commit together (docs/access-log.md, "Ordering and
  // recovery"): a crash before participant_joined is durable leaves a session start-up removes.
  auto tx = store_.begin();
  Records records;
  std::vector<std::string> taken_over;
  if (!takeover.empty()) {
    auto old = store_.session(takeover);
    if (!old.ok()) return done(old.error());
    if (auto r = store_.replaceSession(takeover, s); !r.ok()) return done(r.error());
    if (old->has_value()) {
      if (terminator_ != nullptr) terminator_->endSession(takeover, "takeover");
      records.push_back(record(AccessEvent::kParticipantLeft, **old, "takeover"));
    }
    taken_over.push_back(takeover);
    // The device that went silent took its subscriptions with it: they end with its publish
    // session instead of lingering until their consent expires. Only those older than its
    // silence: a subscription the new page opened before this join may not have connected yet.
    auto since = silentSince_.find(takeover);
    const int64_t silent_since = since == silentSince_.end() ? now_us : since->second;
    silentSince_.erase(takeover);
    for (const Session& o : *before) {
      if (o.id == takeover || !o.stale || o.started_us >= silent_since) continue;
      silentSince_.erase(o.id);
      if (auto r = store_.removeSession(o.id); !r.ok()) continue;
      if (terminator_ != nullptr) terminator_->endSession(o.id, "takeover");
      records.push_back(record(AccessEvent::kParticipantLeft, o, "takeover"));
      taken_over.push_back(o.id);
    }
  } else if (auto r = store_.insertSession(s); !r.ok()) {
    return done(r.error());
  }
  records.push_back(record(AccessEvent::kParticipantJoined, s, ""));
  auto ids = keep(records);
  if (!ids.ok()) return done(ids.error());
  if (auto r = tx->commit(); !r.ok()) return done(r.error());
  const int64_t joined_id = ids->back();
  // A takeover is announced as a join: the others saw the old device's peer-lost.
  const bool first =
      !takeover.empty() || std::all_of(before->begin(), before->end(), [&](const Session& o) {
        return std::find(taken_over.begin(), taken_over.end(), o.id) != taken_over.end();
      });
  if (first) {
    events_.publish(RoomEvent{
        RoomEventType::kJoined, s.room_id, s.invite_id, s.role, s.subject, s.id, {}, now_us});
  }
  if (s.direction == SessionKind::kPublish) {
    events_.publish(RoomEvent{
        RoomEventType::kPublished, s.room_id, s.invite_id, s.role, s.subject, s.id, {}, now_us});
  }
  // A session whose participant_joined could not be written does not stay live: its media is
  // closed by the caller, and a later join with the same invite must not find it. One that a
  // cancel, revoke or window end removed meanwhile is refused too: its participant_left follows
  // its participant_joined in the log, and the caller closes its media.
  std::weak_ptr<char> alive = alive_;
  AccessRecord joined = records.back();
  appendKept(std::move(records), std::move(*ids),
             [this, alive, joined_id, joined = std::move(joined), s = std::move(s),
              done = std::move(done)](const Result<void>& r) mutable {
               if (!r.ok()) {
                 if (alive.lock()) (void)undoEnabling(joined, joined_id);
                 return done(r.error());
               }
               if (alive.lock()) {
                 auto live = store_.session(s.id);
                 if (live.ok() && !live->has_value()) return done(endedWhileJoining(s));
               }
               done(std::move(s));
             });
}

void ConsultationService::publishLeftIfLast(const Session& ended, std::string_view reason) {
  auto rest = store_.sessionsOfInvite(ended.invite_id);
  if (rest.ok() && !rest->empty()) return;
  events_.publish(RoomEvent{RoomEventType::kLeft, ended.room_id, ended.invite_id, ended.role,
                            ended.subject, ended.id, std::string(reason), now()});
}

ConsultationService::Records ConsultationService::leftRecords(const std::vector<Session>& sessions,
                                                              std::string_view reason) const {
  Records records;
  for (const auto& s : sessions)
    records.push_back(record(AccessEvent::kParticipantLeft, s, reason));
  return records;
}

void ConsultationService::endSessions(const std::vector<Session>& sessions,
                                      std::string_view reason) {
  std::vector<std::string> announced;  // one "left" per invite, not per session
  for (const auto& s : sessions) {
    silentSince_.erase(s.id);
    if (terminator_ != nullptr) terminator_->endSession(s.id, reason);
    if (std::find(announced.begin(), announced.end(), s.invite_id) == announced.end()) {
      announced.push_back(s.invite_id);
      publishLeftIfLast(s, reason);
    }
    releaseDoctorIfLast(s);
  }
}

void ConsultationService::sessionEnded(const std::string& session_id, std::string_view reason,
                                       Done<void> done) {
  if (!isEndReason(reason)) {
    return done(makeError("invalid_field", "reason: not an end reason"));
  }
  silentSince_.erase(session_id);
  auto s = store_.session(session_id);
  if (!s.ok()) return done(s.error());
  if (!s->has_value()) return done(Result<void>());  // already ended by the control plane
  // The participant is gone whatever the log does: the record is owed if it cannot be written.
  AccessRecord left = record(AccessEvent::kParticipantLeft, **s, reason);
  auto ids = commitWith({left}, [&] { return store_.removeSession(session_id); });
  if (!ids.ok()) return done(ids.error());
  publishLeftIfLast(**s, reason);
  releaseDoctorIfLast(**s);
  appendKept({std::move(left)}, std::move(*ids), std::move(done));
}

Result<void> ConsultationService::markStale(const std::string& session_id, bool stale,
                                            int64_t silent_since_us) {
  auto s = store_.session(session_id);
  if (!s.ok()) return s.error();
  if (!s->has_value()) {
    silentSince_.erase(session_id);
    return makeError("session_not_found", "no such live session");
  }
  if (stale) {
    silentSince_[session_id] = silent_since_us != 0 ? silent_since_us : now();
  } else {
    silentSince_.erase(session_id);
  }
  if ((*s)->stale == stale) return {};
  if (auto r = store_.setSessionStale(session_id, stale); !r.ok()) return r;
  // The others see the participant's sending side: a silent subscription says nothing to them.
  const Session& x = **s;
  if (x.direction == SessionKind::kPublish) {
    events_.publish(RoomEvent{stale ? RoomEventType::kPeerLost : RoomEventType::kPeerRestored,
                              x.room_id, x.invite_id, x.role, x.subject, x.id,
                              stale ? "silent" : "", now()});
  }
  return {};
}

void ConsultationService::sessionDataTotals(const std::string& session_id,
                                            const DataChannelTotals& totals) {
  auto s = store_.session(session_id);
  if (!s.ok() || !s->has_value()) return;  // ended meanwhile: its summary is written already
  quality_.updateData(session_id, totals);
}

void ConsultationService::sessionQuality(const std::string& session_id, LinkQuality quality) {
  auto s = store_.session(session_id);
  if (!s.ok() || !s->has_value()) return;  // ended meanwhile: its summary is written already
  quality.at_us = now();
  quality_.update(session_id, quality);
  const Session& x = **s;
  if (qualityHook_) qualityHook_(x, quality);
  events_.publish(RoomEvent{RoomEventType::kQuality,
                            x.room_id,
                            x.invite_id,
                            x.role,
                            x.subject,
                            x.id,
                            {},
                            quality.at_us},
                  {{"direction", toString(x.direction)}, {"quality", toJson(quality)}});
}

void ConsultationService::sessionVideoPaused(const std::string& session_id, bool paused) {
  auto s = store_.session(session_id);
  if (!s.ok() || !s->has_value()) return;
  const Session& x = **s;
  events_.publish(RoomEvent{paused ? RoomEventType::kVideoPaused : RoomEventType::kVideoResumed,
                            x.room_id, x.invite_id, x.role, x.subject, x.id, "bandwidth", now()},
                  {{"direction", toString(x.direction)}});
}

Result<ParticipantInfo> ConsultationService::participantInfo(const std::string& token,
                                                             const std::string& room_id,
                                                             const std::string& remote) {
  bool quiet = false;
  auto resolved = resolveToken(token, remote, &quiet);
  std::optional<Error> refusal;
  if (!resolved.ok()) {
    refusal = resolved.error();
  } else if (resolved->invite.room_id != room_id) {
    refusal = makeError("wrong_room", "this invite is for another consultation");
  } else if (resolved->room.state == RoomState::kCancelled) {
    // Before the revoked check, as in checkInviteWindow: cancelling revokes every invite too.
    refusal = makeError("room_cancelled", "the consultation was cancelled");
  } else if (!resolved->invite.live()) {
    refusal = makeError("invite_revoked", "this invite was revoked");
  }
  if (refusal) {
    const std::string role = resolved.ok() ? std::string(toString(resolved->invite.role)) : "";
    counters_.countRefusal(role, refusal->code);
    if (!quiet && refusal->code != "store_error") {
      AccessRecord r;
      r.event = AccessEvent::kApiAuthFailed;
      r.room = room_id;
      r.remote = remote;
      r.reason = refusal->code;
      r.role = role;
      r.detail = {{"op", "info"}};
      append({std::move(r)}, [](Result<void>) {});  // a read answers without waiting
    }
    return *refusal;
  }
  const Room& room = resolved->room;
  const Invite& inv = resolved->invite;
  ParticipantInfo info;
  info.room_id = room.id;
  info.mode = room.mode;
  info.state = room.effectiveState(now());
  info.scheduled_start_us = room.scheduled_start_us;
  info.opens_at_us = room.opens_at_us;
  info.closes_at_us = room.closes_at_us;
  info.institution_id = room.institution_id;
  info.institution_contact = room.institution_contact;
  info.doctor_display_name = room.doctor_display_name;
  info.role = inv.role;
  info.invite_id = inv.id;
  // Titles and references are for the institution's side only, never the patient side
  // (docs/policy.md, "Rooms").
  if (inv.role == Role::kDoctor) {
    info.title = room.title;
    info.external_ref = room.external_ref;
  }
  return info;
}

void ConsultationService::checkWindows() {
  const int64_t now_us = now();
  auto rooms = store_.roomsClosedBy(now_us);
  if (!rooms.ok()) {
    log::get("store")->error("window check: {}", rooms.error().message);
    return;
  }
  for (Room& room : *rooms) {
    auto sessions = store_.sessionsOfRoom(room.id);
    if (!sessions.ok()) continue;
    const bool was_admitted = room.state == RoomState::kInConsultation;
    room.state = RoomState::kEnded;
    room.ended_us = now_us;
    room.end_reason = "window-closed";
    Records records = leftRecords(*sessions, "window-closed");
    if (was_admitted) {
      AccessRecord r = record(AccessEvent::kConsultationEnded, room);
      r.reason = "window-closed";
      records.push_back(std::move(r));
    }
    auto ids = commitWith(records, [&] { return store_.closeRoom(room, false); });
    if (!ids.ok()) {
      log::get("store")->error("closing room {}: {}", room.id, ids.error().message);
      continue;
    }
    endSessions(*sessions, "window-closed");
    events_.publish(
        RoomEvent{RoomEventType::kEnded, room.id, {}, {}, {}, {}, "window-closed", now_us});
    appendKept(std::move(records), std::move(*ids), [](const Result<void>&) {});
  }
}

void ConsultationService::endAllSessions(std::string_view reason, Done<void> done) {
  auto tx = store_.begin();
  auto sessions = store_.takeAllSessions();
  if (!sessions.ok()) return done(sessions.error());
  Records records = leftRecords(*sessions, reason);
  auto ids = keep(records);
  if (!ids.ok()) return done(ids.error());
  if (auto r = tx->commit(); !r.ok()) return done(r.error());
  endSessions(*sessions, reason);
  appendKept(std::move(records), std::move(*ids), std::move(done));
}

}  // namespace medrelay::control
