#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "control/access_log.h"
#include "control/auth_rate_limiter.h"
#include "control/clock.h"
#include "control/cluster_rules.h"
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
  // Admission is durable: start forwarding now, before the API answers, so media a client sends
  // on the answer finds the room's rules in place (the admitted event reaches the media plane
  // only on a later loop iteration).
  virtual void consultationStarted(const std::string& /*room_id*/) {}
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
// callback only once the access-log records they wrote are durable. Every change keeps its
// records in the store, in the change's own transaction, until the log has them
// (docs/access-log.md, "Ordering and recovery"): what enables (a room, an invite, a session, an
// admission) takes effect only once its record is durable and is undone — answered
// access_log_unavailable — when it cannot be written; what disables (cancel, revoke, end, a
// session's end) takes effect at once and its record is written when the log accepts it, with
// detail.recovered. Reads answer at once.
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
  // pending records left by a crash are settled against the log (enabling changes whose record is
  // missing are undone, records owed are written), sessions live before the restart end with
  // reason server-restart (records durable before it returns unless the log refuses them: then
  // they are owed), windows that closed meanwhile are closed, the timer starts.
  Result<void> start();
  void setTerminator(SessionTerminator* terminator) { terminator_ = terminator; }
  // In a cluster (docs/cluster.md): rule 3 across nodes and room registration. Before start().
  void setClusterRules(ClusterRules* cluster) { cluster_ = cluster; }
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
  // `silent_since_us`: when the session last sent anything (0: now), so a takeover can tell the
  // dead page's subscriptions (older) from the new page's (started after the silence began).
  Result<void> markStale(const std::string& session_id, bool stale = true,
                         int64_t silent_since_us = 0);
  // The media plane's periodic report on a live session's link (ignored for unknown sessions).
  void sessionQuality(const std::string& session_id, LinkQuality quality);
  // Audio first: the media plane stopped (paused) or restarted video to a subscribe session
  // because of its downlink; published as `video_paused` / `video_resumed` (reason `bandwidth`).
  void sessionVideoPaused(const std::string& session_id, bool paused);
  // The media plane's data channel totals of a live session, for its participant_left record.
  void sessionDataTotals(const std::string& session_id, const DataChannelTotals& totals);
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
  // Also on the timer: records owed to the log are written once it accepts them again, and
  // pending records the log has are forgotten by the store.
  void retryOwedRecords();
  void forgetSettledRecords();
  // At shutdown: every live session ends with `reason` (server-shutdown).
  void endAllSessions(std::string_view reason, Done<void> done);
  // In a cluster: the room was placed on another node (reason superseded), or (with `subject`)
  // that doctor's lease was lost: its sessions of the room end here.
  void endRoomSessions(const std::string& room_id, std::string_view reason, Done<void> done,
                       const std::string& subject = "");
  // Whether the room has live sessions here; whether the subject holds a doctor seat in it.
  bool roomHasSessions(const std::string& room_id);
  // Rooms of this node's store that can still be joined (not ended or cancelled), at most
  // `limit`: what a cluster node registers as its own when Redis comes back empty.
  std::vector<std::string> joinableRoomIds(size_t limit);
  bool doctorLiveIn(const std::string& subject, const std::string& room_id);

 private:
  struct Resolved {
    Invite invite;
    Room room;
  };
  using Records = std::vector<AccessRecord>;
  using PendingIds = std::vector<int64_t>;

  int64_t now() { return clock_.nowUs(); }
  // Appends every record; `done` runs once all are durable (or with the first error).
  void append(Records records, Done<void> done);
  // Counts a record by event and writes its ids to the policy log.
  void noteRecord(const AccessRecord& record);

  // Pending records (consultation_recovery.cpp, docs/access-log.md "Ordering and recovery").
  // Keeps `records` in the store (inside the caller's transaction); their ids in order.
  Result<PendingIds> keep(const Records& records);
  // Runs `change` and keeps `records` in the store, in one transaction; their ids in order.
  Result<PendingIds> commitWith(const Records& records,
                                const std::function<Result<void>()>& change);
  // Appends kept records. Each one the log accepts is settled; an owed (disabling) one it refuses
  // is retried when the log recovers. `done` gets the error of the first enabling record the log
  // refused, or success: owed records do not fail the change. `first_attempt` is false for owed
  // records written late (counted and logged when their change was made).
  void appendKept(Records records, PendingIds ids, Done<void> done, bool first_attempt = true);
  // Undoes an enabling change whose record is not in the log (room_created, invite_issued,
  // participant_joined, consultation_started), with every pending record of it.
  Result<void> undoEnabling(const AccessRecord& record, int64_t pending_id);
  // consultation_started is durable: the room goes into consultation, or, if it was cancelled or
  // closed meanwhile, the consultation ends at once with the room's reason.
  Result<Room> completeAdmission(const std::string& room_id, int64_t admitted_us,
                                 int64_t pending_id);
  Result<void> recoverPending();
  void onTick();
  // A session that a cancel, revoke or window end removed while its participant_joined was being
  // written: the join's answer is the refusal it would get now.
  Error endedWhileJoining(const Session& session);
  // Answers `value` once the kept records were appended (owed ones may be written later).
  template <typename T>
  void answerWhenKept(Records records, PendingIds ids, T value, Done<T> done);
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
  // Ends `sessions`' media (terminator) and announces it (events).
  void endSessions(const std::vector<Session>& sessions, std::string_view reason);
  // Their participant_left records; each takes the session's link-quality summary, so it is made
  // once per end.
  Records leftRecords(const std::vector<Session>& sessions, std::string_view reason) const;
  void publishLeftIfLast(const Session& ended, std::string_view reason);
  // The subject's last doctor-seat session in the room ended: its cluster lease goes.
  void releaseDoctorIfLast(const Session& ended);
  // The cluster half of rule 3, after the local checks passed (authorizeJoin).
  void grantAfterLease(JoinGrant grant, AccessRecord ctx, Done<JoinGrant> done);
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
  std::unordered_map<std::string, int64_t> silentSince_;  // stale sessions, from markStale
  std::function<void(const Session&, const LinkQuality&)> qualityHook_;
  DeadInvites deadInvites_;
  std::function<void(const std::string&)> inviteRevokedHook_;
  SessionTerminator* terminator_ = nullptr;
  ClusterRules* cluster_ = nullptr;
  // Pending records appended and not yet forgotten by the store (in flight or settled), those
  // whose fate is settled (the store may delete them), and whether owed records wait for the log.
  std::set<int64_t> unsettled_;
  PendingIds settled_;
  bool owedWaiting_ = false;
  // Admissions whose consultation_started is being written, with the admits that wait for them.
  std::map<std::string, std::vector<std::function<void()>>> admitting_;
  net::Timer windowTimer_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // durable callbacks check it
};

template <typename T>
void ConsultationService::answerWhenKept(Records records, PendingIds ids, T value, Done<T> done) {
  appendKept(std::move(records), std::move(ids),
             [value = std::move(value), done = std::move(done)](const Result<void>& r) mutable {
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
