#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/access_log.h"
#include "control/auth_rate_limiter.h"
#include "control/clock.h"
#include "control/consultation.h"
#include "control/consultation_requests.h"
#include "control/dead_invites.h"
#include "control/invite_token.h"
#include "control/policy.h"
#include "control/room_events.h"
#include "control/store.h"
#include "net/dispatcher.h"

namespace medrelay::control {

// Implemented by the media plane: stop a session's media now (cancel, revoke, window end,
// takeover). Called on the control thread; the implementation posts to the session's worker.
class SessionTerminator {
 public:
  virtual ~SessionTerminator() = default;
  virtual void endSession(const std::string& session_id, std::string_view reason) = 0;
};

// Who calls an operation that both the backend and a participant may call (admit, end).
struct Caller {
  bool backend = false;
  std::string token;   // the participant's invite token
  std::string remote;  // ip:port, for rate limiting and the access log

  static Caller ofBackend() { return Caller{true, {}, {}}; }
  static Caller ofParticipant(std::string token, std::string remote) {
    return Caller{false, std::move(token), std::move(remote)};
  }
};

struct JoinRequest {
  std::string token;
  std::string room_id;
  SessionKind direction = SessionKind::kPublish;
  std::string remote;              // ip:port
  std::string transport = "http";  // udp, tcp, turn-udp, … as far as known
};

// Permission for one session: sessionStarted() turns it into a live Session.
struct JoinGrant {
  std::string session_id;  // assigned by the service
  std::string room_id;
  std::string invite_id;
  Role role = Role::kPatient;
  std::string subject;
  SessionKind direction = SessionKind::kPublish;
  std::string remote;
  std::string transport;
  std::string takeover_session;  // a stale session of the same invite this one replaces
};

struct ConsultationServiceOptions {
  TokenPepper token_pepper{};  // server secret for invite-token hashes; must survive restarts
  std::chrono::milliseconds window_tick{200};  // how often closes_at is checked
  AuthRateLimiterOptions rate_limit;
  size_t max_subscriptions_per_invite = 8;
};

// The control plane's consultation facade (docs/policy.md). Runs on the control dispatcher; the
// REST layer calls one method per endpoint. Methods that change state answer through their
// callback only once the access-log records they wrote are durable; when a record cannot be
// written the caller gets access_log_unavailable (a room or invite that was created is removed
// again, so nothing exists that was never logged). Reads answer at once.
class ConsultationService {
 public:
  template <typename T>
  using Done = std::function<void(Result<T>)>;

  ConsultationService(net::Dispatcher& dispatcher, Store& store, AccessLog& log, Clock& clock,
                      ConsultationServiceOptions options);
  ~ConsultationService();
  ConsultationService(const ConsultationService&) = delete;
  ConsultationService& operator=(const ConsultationService&) = delete;

  // At process start: the invites that are no longer live are loaded for inviteLiveness(),
  // sessions live before a restart end with reason server-restart (records durable before it
  // returns), windows that closed meanwhile are closed, the timer starts.
  Result<void> start();
  void setTerminator(SessionTerminator* terminator) { terminator_ = terminator; }
  // Called (on the control thread) for every invite that stops being live by revocation or by
  // its room's cancellation or end, so TURN can tear down the invite's allocations at once.
  void setInviteRevokedHook(std::function<void(const std::string& invite_id)> hook) {
    inviteRevokedHook_ = std::move(hook);
  }
  // For TURN, callable from any thread: false for an invite that was revoked or whose room was
  // cancelled or ended, also before the last restart (loaded from the store by start()).
  net::turn::InviteLiveness& inviteLiveness() { return deadInvites_; }
  RoomEventBus& events() { return events_; }
  const PolicyCounters& counters() const { return counters_; }

  // Backend (API key) operations.
  void createRoom(const CreateRoomRequest& request, Done<Room> done);
  Result<RoomDetail> getRoom(const std::string& room_id);
  Result<RoomPage> listRooms(const RoomFilter& filter);
  void patchRoom(const std::string& room_id, const PatchRoomRequest& request, Done<Room> done);
  // Revokes every invite and ends every session at once.
  void cancelRoom(const std::string& room_id, Done<Room> done);
  void createInvite(const std::string& room_id, const CreateInviteRequest& request,
                    Done<IssuedInvite> done);
  Result<std::vector<Invite>> listInvites(const std::string& room_id);
  void revokeInvite(const std::string& room_id, const std::string& invite_id, Done<Invite> done);

  // By the backend or the doctor's invite: the consultation starts (the patient leaves the
  // waiting room).
  void admit(const std::string& room_id, const Caller& caller, Done<Room> done);
  // By the backend or the doctor's invite, after admission: the consultation ends, every
  // session ends (hangup).
  void endConsultation(const std::string& room_id, const Caller& caller, Done<Room> done);

  // Participant joins (WHIP/WHEP). Refusals answer after their join_refused record is durable.
  void authorizeJoin(const JoinRequest& request, Done<JoinGrant> done);
  // The media plane set the session up: record it (participant_joined), ending a taken-over
  // stale session first. The live-session rules are checked again here.
  void sessionStarted(const JoinGrant& grant, Done<Session> done);
  // The media plane ended a session (reason: one of isEndReason). Unknown ids succeed: the
  // control plane may have ended it already.
  void sessionEnded(const std::string& session_id, std::string_view reason, Done<void> done);
  // Consent freshness lost (stale = true) or regained; a stale publish session can be taken
  // over by a new join with the same invite.
  Result<void> markStale(const std::string& session_id, bool stale = true);
  // The media plane's periodic report on a live session's link (ignored for unknown sessions).
  void sessionQuality(const std::string& session_id, LinkQuality quality);
  // Called with every accepted report (the metrics' histograms).
  void setQualityHook(std::function<void(const Session&, const LinkQuality&)> hook) {
    qualityHook_ = std::move(hook);
  }
  const LinkQualityBook& linkQuality() const { return quality_; }
  Result<ParticipantInfo> participantInfo(const std::string& token, const std::string& room_id,
                                          const std::string& remote);

  // For refusals decided before the service is called (parse-level 422s such as
  // start_time_immutable): counts and logs them like the service's own.
  void recordRefusal(const std::string& room_id, std::string_view op, const Error& error,
                     Done<void> done);

  // What the window timer runs: rooms whose closes_at passed end (window-closed).
  void checkWindows();
  // At shutdown: every live session ends with `reason` (server-shutdown).
  void endAllSessions(std::string_view reason, Done<void> done);

 private:
  struct Resolved {
    Invite invite;
    Room room;
  };
  using Records = std::vector<AccessRecord>;

  int64_t now() { return clock_.nowUs(); }
  // Appends every record; `done` runs once all are durable (or with the first error).
  void append(Records records, Done<void> done);
  template <typename T>
  void answerWhenDurable(Records records, T value, Done<T> done);
  // Counts and logs a refusal, then answers `done` with it.
  template <typename T>
  void refuse(AccessEvent event, AccessRecord context, Error error, Done<T> done);
  AccessRecord record(AccessEvent event, const Room& room) const;
  AccessRecord record(AccessEvent event, const Session& session, std::string_view reason) const;
  // Token → invite and room, with rate limiting of failures from `remote`.
  Result<Resolved> resolveToken(const std::string& token, const std::string& remote,
                                bool* quiet_refusal);
  Result<void> checkLiveSessions(const Invite& invite, SessionKind direction,
                                 std::string* takeover_session);
  // Ends `sessions` (terminator, events) and returns their participant_left records.
  Records endSessions(const std::vector<Session>& sessions, std::string_view reason);
  void publishLeftIfLast(const Session& ended, std::string_view reason);
  // The invite is no longer live (revoked, room cancelled or ended): TURN refuses it from now
  // on and the hook tears its allocations down.
  void inviteEnded(const Invite& invite);
  Result<Room> loadRoom(const std::string& room_id);
  Result<Room> authorizeDoctorAction(const std::string& room_id, const Caller& caller,
                                     std::string_view op, AccessRecord* context);
  Error logUnavailable() const;

  net::Dispatcher& dispatcher_;
  Store& store_;
  AccessLog& log_;
  Clock& clock_;
  ConsultationServiceOptions options_;
  InviteTokens tokens_;
  AuthRateLimiter limiter_;
  RoomEventBus events_;
  PolicyCounters counters_;
  // record() moves a session's summary into its participant_left record.
  mutable LinkQualityBook quality_;
  std::function<void(const Session&, const LinkQuality&)> qualityHook_;
  DeadInvites deadInvites_;
  std::function<void(const std::string&)> inviteRevokedHook_;
  SessionTerminator* terminator_ = nullptr;
  net::Timer windowTimer_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // durable callbacks check it
};

template <typename T>
void ConsultationService::answerWhenDurable(Records records, T value, Done<T> done) {
  append(std::move(records),
         [value = std::move(value), done = std::move(done)](Result<void> r) mutable {
           if (!r.ok()) {
             done(r.error());
           } else {
             done(std::move(value));
           }
         });
}

template <typename T>
void ConsultationService::refuse(AccessEvent event, AccessRecord context, Error error,
                                 Done<T> done) {
  counters_.countRefusal(context.role, error.code);
  context.event = event;
  context.reason = error.code;
  append({std::move(context)}, [error = std::move(error), done = std::move(done)](Result<void>) {
    done(error);  // the refusal stands even if its record could not be written
  });
}

// The JSON error body for the REST layer: code, message, and for not_yet_open also opens_at and
// message_ja (the guideline vendor's wording).
nlohmann::json errorBody(const Error& error);

}  // namespace medrelay::control
