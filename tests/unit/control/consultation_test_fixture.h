#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/access_log.h"
#include "control/access_log_reader.h"
#include "control/access_log_verify.h"
#include "control/consultation_service.h"
#include "control/sqlite_store.h"
#include "net/dispatcher.h"
#include "tests/support/access_log_test_util.h"
#include "tests/support/test_support.h"

namespace medrelay::control::testutil {

inline constexpr int64_t kMinuteUs = 60'000'000;
inline constexpr int64_t kHourUs = 60 * kMinuteUs;

// Records what the media plane would be told to stop.
class RecordingTerminator final : public SessionTerminator {
 public:
  void endSession(const std::string& session_id, std::string_view reason) override {
    ended.emplace_back(session_id, std::string(reason));
  }
  std::vector<std::pair<std::string, std::string>> ended;
};

// A real SQLite file, a real access log and a real control dispatcher in a TempDir; the
// dispatcher is run until each callback completes.
class ConsultationFixture : public ::testing::Test {
 protected:
  void SetUp() override { openAll(); }
  void TearDown() override { closeAll(); }

  AccessLogOptions logOptions() {
    AccessLogOptions o;
    o.dir = dir_.path() / "log";
    o.node_id = "node-1";
    o.key = key_;
    o.retry_interval = std::chrono::milliseconds(20);
    o.clock_us = [this] { return clock_.nowUs(); };
    if (files_) o.files = files_;
    return o;
  }

  void openAll() {
    auto log = AccessLog::open(logOptions(), &dispatcher_);
    ASSERT_TRUE(log.ok()) << log.error().message;
    log_ = std::move(log).value();
    auto store = SqliteStore::open(dir_.path() / "state.db");
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
    ConsultationServiceOptions o;
    o.token_pepper.fill(7);
    o.window_tick = std::chrono::milliseconds(20);
    svc_ = std::make_unique<ConsultationService>(dispatcher_, *store_, *log_, clock_, o);
    svc_->setTerminator(&terminator_);
    auto started = svc_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  void closeAll() {
    svc_.reset();
    store_.reset();
    log_.reset();
    // Durable callbacks posted by the log's last flush.
    uv_run(dispatcher_.loop(), UV_RUN_NOWAIT);
  }

  // Runs the control loop until `call` has answered.
  template <typename T>
  Result<T> await(const std::function<void(ConsultationService::Done<T>)>& call) {
    std::optional<Result<T>> out;
    call([&](Result<T> r) { out.emplace(std::move(r)); });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!out && std::chrono::steady_clock::now() < deadline) {
      uv_run(dispatcher_.loop(), UV_RUN_ONCE);
    }
    if (!out) return makeError("test_timeout", "callback never ran");
    return std::move(*out);
  }
  // Runs the loop for about `ms` (timers fire, posted work runs).
  void spin(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) uv_run(dispatcher_.loop(), UV_RUN_NOWAIT);
  }

  Room createRoom(RoomMode mode, std::optional<int64_t> start = std::nullopt) {
    CreateRoomRequest req;
    req.mode = mode;
    req.scheduled_start_us = start;
    req.institution_id = "clinic-1";
    req.institution_contact = "+81-3-0000-0000";
    req.doctor_display_name = "Dr. Sato";
    req.title = "follow-up";
    req.external_ref = "ext-42";
    auto r = await<Room>([&](auto done) { svc_->createRoom(req, std::move(done)); });
    EXPECT_TRUE(r.ok()) << r.error().code;
    return r.ok() ? r.value() : Room{};
  }

  Result<IssuedInvite> invite(const Room& room, Role role, const std::string& subject,
                              bool consent = true) {
    CreateInviteRequest req;
    req.role = role;
    req.subject = subject;
    if (consent && needsConsent(role))
      req.consent = ConsentRecord{"patient-1", clock_.nowUs(), role};
    return await<IssuedInvite>(
        [&](auto done) { svc_->createInvite(room.id, req, std::move(done)); });
  }
  std::string token(const Room& room, Role role, const std::string& subject) {
    auto r = invite(room, role, subject);
    EXPECT_TRUE(r.ok()) << r.error().code;
    return r.ok() ? r->token : std::string();
  }

  Result<JoinGrant> authorize(const std::string& tok, const std::string& room_id,
                              SessionKind dir = SessionKind::kPublish,
                              const std::string& remote = "192.0.2.10:5000") {
    JoinRequest req{tok, room_id, dir, remote, "udp"};
    return await<JoinGrant>([&](auto done) { svc_->authorizeJoin(req, std::move(done)); });
  }
  // authorizeJoin then sessionStarted.
  Result<Session> join(const std::string& tok, const std::string& room_id,
                       SessionKind dir = SessionKind::kPublish,
                       const std::string& remote = "192.0.2.10:5000") {
    auto grant = authorize(tok, room_id, dir, remote);
    if (!grant.ok()) return grant.error();
    return await<Session>([&](auto done) { svc_->sessionStarted(*grant, std::move(done)); });
  }
  Result<void> leave(const std::string& session_id, std::string_view reason = "hangup") {
    return await<void>([&](auto done) { svc_->sessionEnded(session_id, reason, std::move(done)); });
  }

  std::vector<AccessRecord> records(const std::string& room = "") {
    AccessLogQuery q;
    q.room = room;
    q.limit = 100000;
    auto r = AccessLogReader(dir_.path() / "log").query(q);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : std::vector<AccessRecord>{};
  }
  std::vector<AccessRecord> recordsOf(AccessEvent event, const std::string& room = "") {
    std::vector<AccessRecord> out;
    for (auto& r : records(room)) {
      if (r.event == event) out.push_back(r);
    }
    return out;
  }
  VerifyReport verify() {
    AccessLogKeyring ring;
    ring.add(key_);
    return verifyAccessLog(dir_.path() / "log", ring);
  }

  test::TempDir dir_;
  net::Dispatcher dispatcher_{"control"};
  ManualClock clock_{*parseTime("2026-11-21T10:00:00.000000Z")};
  AccessLogKey key_ = fixedKey(3);
  std::shared_ptr<AccessLogFileLayer> files_;
  std::unique_ptr<AccessLog> log_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ConsultationService> svc_;
  RecordingTerminator terminator_;
};

}  // namespace medrelay::control::testutil
