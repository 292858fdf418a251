// The consultation REST API through the real medrelay binary on loopback (port 0, TempDir data
// dir): one scenario per policy rule the HTTP API can reach, auth, events, the access log, audit
// verification, restart persistence and SIGKILL durability.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/access_log_record.h"
#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"

namespace medrelay::test {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  return control::formatTime(us);
}

class ApiProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start() {
    server_ = std::make_unique<ServerProcess>(
        dir_,
        std::vector<std::string>{"--set", "storage.data_dir=" + data(), "--set",
                                 "http.listen=127.0.0.1:0", "--set", "media.workers=1", "--set",
                                 "media.udp_port=0", "--set", "media.tcp_port=0", "--set",
                                 "turn.enabled=false", "--set", "shutdown.grace_ms=3000"});
    port_ = waitForHttpPort(*server_);
    ASSERT_NE(port_, 0) << server_->output();
    ASSERT_TRUE(server_->waitForOutput("medrelay started")) << server_->output();
    key_ = readFile(data() + "/api-key");
    while (!key_.empty() && (key_.back() == '\n' || key_.back() == '\r')) key_.pop_back();
    ASSERT_FALSE(key_.empty());
  }
  void stop() {
    server_->signal(SIGTERM);
    ASSERT_EQ(server_->waitExit(milliseconds(10000)), 0) << server_->output();
  }

  std::string data() const { return dir_.str() + "/data"; }
  ApiClient backend() const { return ApiClient(port_, key_); }
  ApiClient participant(const std::string& token) const { return ApiClient(port_, token); }

  json roomBody(const std::string& mode = "d2p", const std::string& start = "now") {
    return {{"mode", mode},
            {"scheduled_start", start},
            {"institution_id", "clinic-1"},
            {"institution_contact", "03-0000-0000"},
            {"doctor_display_name", "Dr. Example"},
            {"title", "follow-up"}};
  }
  std::string createRoom(const std::string& mode = "d2p") {
    auto r = backend().post("/v1/rooms", roomBody(mode));
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.header("location"), "/v1/rooms/" + r.json().value("id", ""));
    return r.json().value("id", "");
  }
  static json consent(const std::string& role) {
    return {{"given_by", "pt-1"}, {"given_at", "2026-01-01T00:00:00Z"}, {"role", role}};
  }
  ApiResponse invite(const std::string& room, const std::string& role, const std::string& subject,
                     bool with_consent = false) {
    json body = {{"role", role}, {"subject", subject}};
    if (with_consent) body["consent"] = consent(role);
    return backend().post("/v1/rooms/" + room + "/invites", body);
  }
  std::string token(const std::string& room, const std::string& role, const std::string& subject,
                    bool with_consent = false) {
    auto r = invite(room, role, subject, with_consent);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("token", "");
  }
  // Every access-log record, through GET /v1/access-log (paged).
  std::vector<json> records() { return exportAccessLog(backend()); }
  static bool hasRecord(const std::vector<json>& recs, const std::string& event,
                        const std::string& reason = {}, const std::string& room = {}) {
    for (const auto& r : recs) {
      if (r.value("event", "") != event) continue;
      if (!reason.empty() && r.value("reason", "") != reason) continue;
      if (!room.empty() && r.value("room", "") != room) continue;
      return true;
    }
    return false;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  uint16_t port_ = 0;
  std::string key_;
};

// Rule 1.
TEST_F(ApiProcessTest, SecondDoctorOrPatientInviteIsAConflict) {
  const std::string room = createRoom();
  EXPECT_EQ(invite(room, "doctor", "dr-1").status, 201);
  EXPECT_EQ(invite(room, "patient", "pt-1").status, 201);
  auto d = invite(room, "doctor", "dr-2");
  EXPECT_EQ(d.status, 409);
  EXPECT_EQ(d.code(), "doctor_already_invited");
  auto p = invite(room, "patient", "pt-2");
  EXPECT_EQ(p.status, 409);
  EXPECT_EQ(p.code(), "patient_already_invited");
  auto recs = records();
  EXPECT_TRUE(hasRecord(recs, "join_refused", "doctor_already_invited", room));
  EXPECT_TRUE(hasRecord(recs, "join_refused", "patient_already_invited", room));
}

// Rule 2: D to P with N (two nurses), D to P with D, supporters only with consent.
TEST_F(ApiProcessTest, ModesDecideTheRolesAndConsentIsRequired) {
  const std::string d2p = createRoom("d2p");
  auto nurse_in_d2p = invite(d2p, "nurse", "ns-1", true);
  EXPECT_EQ(nurse_in_d2p.status, 422);
  EXPECT_EQ(nurse_in_d2p.code(), "role_not_allowed_in_mode");
  auto supporter = invite(d2p, "supporter", "sp-1", false);
  EXPECT_EQ(supporter.status, 422);
  EXPECT_EQ(supporter.code(), "consent_required");
  EXPECT_EQ(invite(d2p, "supporter", "sp-1", true).status, 201);

  const std::string with_n = createRoom("d2p_with_n");
  EXPECT_EQ(invite(with_n, "doctor", "dr-1").status, 201);
  EXPECT_EQ(invite(with_n, "patient", "pt-1").status, 201);
  auto no_consent = invite(with_n, "nurse", "ns-1", false);
  EXPECT_EQ(no_consent.status, 422);
  EXPECT_EQ(no_consent.code(), "consent_required");
  EXPECT_EQ(invite(with_n, "nurse", "ns-1", true).status, 201);
  EXPECT_EQ(invite(with_n, "nurse", "ns-2", true).status, 201);
  EXPECT_EQ(invite(with_n, "attending_doctor", "ad-1", true).code(), "role_not_allowed_in_mode");

  const std::string with_d = createRoom("d2p_with_d");
  EXPECT_EQ(invite(with_d, "attending_doctor", "ad-1", true).status, 201);
  auto second = invite(with_d, "attending_doctor", "ad-2", true);
  EXPECT_EQ(second.status, 409);
  EXPECT_EQ(second.code(), "attending_doctor_already_invited");

  auto list = backend().get("/v1/rooms/" + with_n + "/invites");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["invites"].size(), 4u);
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr("mri_")));  // tokens are shown once
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr("token")));
}

// Rule 4: distinct refusals for every kind of bad token, through GET /info.
TEST_F(ApiProcessTest, InfoRefusesEveryBadTokenDistinctly) {
  const std::string room = createRoom();
  const std::string other = createRoom();
  const std::string patient = token(room, "patient", "pt-1");
  auto info = participant(patient).get("/v1/rooms/" + room + "/info");
  ASSERT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(info.json()["role"], "patient");
  EXPECT_EQ(info.json()["doctor_display_name"], "Dr. Example");
  EXPECT_EQ(info.json()["institution_contact"], "03-0000-0000");
  EXPECT_FALSE(info.json().contains("title"));  // never to the patient side
  EXPECT_EQ(info.json()["join"]["allowed"], true);

  auto unknown = participant("mri_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                     .get("/v1/rooms/" + room + "/info");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.code(), "invalid_token");
  auto wrong = participant(patient).get("/v1/rooms/" + other + "/info");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.code(), "wrong_room");

  auto inv = invite(room, "supporter", "sp-1", true);
  const std::string revoked = inv.json()["token"];
  ASSERT_EQ(
      backend().del("/v1/rooms/" + room + "/invites/" + inv.json()["id"].get<std::string>()).status,
      200);
  auto r = participant(revoked).get("/v1/rooms/" + room + "/info");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.code(), "invite_revoked");

  const std::string cancelled_room = createRoom();
  const std::string in_cancelled = token(cancelled_room, "patient", "pt-2");
  ASSERT_EQ(backend().del("/v1/rooms/" + cancelled_room).status, 200);
  auto c = participant(in_cancelled).get("/v1/rooms/" + cancelled_room + "/info");
  EXPECT_EQ(c.status, 403);
  EXPECT_EQ(c.code(), "room_cancelled");

  // Early: the room starts in 3 h, so it opens in 2 h.
  const auto now = std::chrono::system_clock::now();
  auto early = backend().post("/v1/rooms", roomBody("d2p", rfc3339(now + std::chrono::hours(3))));
  ASSERT_EQ(early.status, 201);
  EXPECT_EQ(early.json()["state"], "scheduled");
  const std::string early_room = early.json()["id"];
  auto e =
      participant(token(early_room, "patient", "pt-3")).get("/v1/rooms/" + early_room + "/info");
  ASSERT_EQ(e.status, 200) << e.body;  // the doctor and contact are always available
  EXPECT_EQ(e.json()["join"]["allowed"], false);
  EXPECT_EQ(e.json()["join"]["code"], "not_yet_open");
  EXPECT_EQ(e.json()["join"]["opens_at"], early.json()["opens_at"]);
  EXPECT_EQ(e.json()["join"]["message_ja"],
            "このビデオ通話は開始前です。開始1時間前より待機することができます。");

  // Late: a window that closes a second from now.
  json late_body = roomBody("d2p", rfc3339(now));
  late_body["opens_at"] = rfc3339(now - std::chrono::minutes(1));
  late_body["closes_at"] = rfc3339(now + std::chrono::milliseconds(1200));
  auto late = backend().post("/v1/rooms", late_body);
  ASSERT_EQ(late.status, 201) << late.body;
  const std::string late_room = late.json()["id"];
  const std::string late_token = token(late_room, "patient", "pt-4");
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  auto l = participant(late_token).get("/v1/rooms/" + late_room + "/info");
  ASSERT_EQ(l.status, 200) << l.body;
  EXPECT_EQ(l.json()["join"]["code"], "window_closed");
  EXPECT_EQ(l.json()["state"], "ended");  // the window timer closed the room

  auto recs = records();
  for (const char* reason : {"invalid_token", "wrong_room", "invite_revoked", "room_cancelled"}) {
    EXPECT_TRUE(hasRecord(recs, "api_auth_failed", reason)) << reason;
  }
}

// Rule 4: failed authentications are rate-limited per source, for tokens and API keys.
TEST_F(ApiProcessTest, FailedAuthenticationsAreRateLimited) {
  const std::string room = createRoom();
  int limited = 0;
  for (int i = 0; i < 15; ++i) {
    auto r = participant("mri_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
                 .get("/v1/rooms/" + room + "/info");
    if (r.status == 429) {
      ++limited;
      EXPECT_EQ(r.code(), "rate_limited");
    } else {
      EXPECT_EQ(r.status, 401);
    }
  }
  EXPECT_GE(limited, 4);
  int key_limited = 0;
  for (int i = 0; i < 15; ++i) {
    auto r = ApiClient(port_, "mrk_wrong").get("/v1/rooms");
    if (r.status == 429) {
      ++key_limited;
      EXPECT_FALSE(r.header("retry-after").empty());
    } else {
      EXPECT_EQ(r.status, 401);
    }
  }
  EXPECT_GE(key_limited, 4);
  auto recs = records();
  EXPECT_TRUE(hasRecord(recs, "api_auth_failed", "rate_limited"));
}

// Rules 6/7 as events: admitted and cancelled over SSE; participants never see subjects.
TEST_F(ApiProcessTest, EventsStreamAdmissionAndCancellation) {
  const std::string room = createRoom();
  const std::string doctor = token(room, "doctor", "dr-1");
  const std::string patient = token(room, "patient", "pt-1");
  SseReader backend_events(port_, "/v1/rooms/" + room + "/events", key_);
  SseReader patient_events(port_, "/v1/rooms/" + room + "/events", patient);
  ASSERT_EQ(backend_events.head().status, 200);
  ASSERT_EQ(patient_events.head().status, 200);
  EXPECT_THAT(patient_events.head().header("content-type"), HasSubstr("text/event-stream"));

  // A patient never acts as a doctor.
  auto by_patient = participant(patient).post("/v1/rooms/" + room + "/admit", nullptr);
  EXPECT_EQ(by_patient.status, 403);
  EXPECT_EQ(by_patient.code(), "forbidden_role");
  auto admitted = participant(doctor).post("/v1/rooms/" + room + "/admit", nullptr);
  ASSERT_EQ(admitted.status, 200) << admitted.body;
  EXPECT_EQ(admitted.json()["state"], "in_consultation");

  auto ev = patient_events.next();
  EXPECT_EQ(ev.type, "admitted");
  EXPECT_EQ(ev.data["room_id"], room);
  EXPECT_EQ(ev.data["role"], "doctor");
  EXPECT_FALSE(ev.data.contains("subject"));
  auto bev = backend_events.next();
  EXPECT_EQ(bev.type, "admitted");
  EXPECT_EQ(bev.data["subject"], "dr-1");

  ASSERT_EQ(backend().del("/v1/rooms/" + room).status, 200);
  EXPECT_EQ(patient_events.next().type, "cancelled");
  EXPECT_EQ(backend_events.next().type, "cancelled");

  auto recs = records();
  EXPECT_TRUE(hasRecord(recs, "consultation_started", "", room));
  EXPECT_TRUE(hasRecord(recs, "room_cancelled", "", room));
  EXPECT_TRUE(hasRecord(recs, "invite_revoked", "cancelled", room));
  EXPECT_TRUE(hasRecord(recs, "consultation_ended", "cancelled", room));
  EXPECT_TRUE(hasRecord(recs, "api_auth_failed", "forbidden_role", room));
}

TEST_F(ApiProcessTest, DoctorTokenAdmitsAndEndsTheConsultation) {
  const std::string room = createRoom("d2p_with_d");
  const std::string doctor = token(room, "doctor", "dr-1");
  EXPECT_EQ(invite(room, "attending_doctor", "ad-1", true).status, 201);
  auto too_early = participant(doctor).post("/v1/rooms/" + room + "/end", nullptr);
  EXPECT_EQ(too_early.status, 409);
  EXPECT_EQ(too_early.code(), "not_admitted");
  ASSERT_EQ(backend().post("/v1/rooms/" + room + "/admit", nullptr).status, 200);
  auto again = participant(doctor).post("/v1/rooms/" + room + "/admit", nullptr);
  EXPECT_EQ(again.code(), "already_admitted");
  auto ended = participant(doctor).post("/v1/rooms/" + room + "/end", nullptr);
  ASSERT_EQ(ended.status, 200) << ended.body;
  EXPECT_EQ(ended.json()["state"], "ended");
  auto recs = records();
  EXPECT_TRUE(hasRecord(recs, "consultation_ended", "hangup", room));
  EXPECT_TRUE(hasRecord(recs, "join_refused", "not_admitted", room));
}

// A participant token is never a backend credential.
TEST_F(ApiProcessTest, PatientTokenCannotActForTheBackend) {
  const std::string room = createRoom();
  const std::string patient = token(room, "patient", "pt-1");
  auto p = participant(patient);
  EXPECT_EQ(p.post("/v1/rooms/" + room + "/invites", {{"role", "doctor"}, {"subject", "x"}}).status,
            401);
  EXPECT_EQ(p.del("/v1/rooms/" + room).status, 401);
  EXPECT_EQ(p.get("/v1/rooms/" + room).status, 401);
  EXPECT_EQ(p.get("/v1/rooms/" + room + "/invites").status, 401);
  EXPECT_EQ(p.get("/v1/rooms/" + room + "/access-log").status, 401);
  EXPECT_EQ(p.get("/v1/rooms").status, 401);
  EXPECT_EQ(p.post("/v1/rooms/" + room + "/admit", nullptr).code(), "forbidden_role");
  EXPECT_EQ(backend().get("/v1/rooms/" + room).json()["state"], "open");  // nothing changed
}

TEST_F(ApiProcessTest, StartTimeCannotBePatchedButTitleCan) {
  const std::string room = createRoom();
  auto r = backend().patch("/v1/rooms/" + room, {{"scheduled_start", "2030-01-01T00:00:00Z"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.code(), "start_time_immutable");
  auto ok = backend().patch("/v1/rooms/" + room, {{"title", "changed"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["title"], "changed");
  auto recs = records();
  EXPECT_TRUE(hasRecord(recs, "join_refused", "start_time_immutable", room));
  EXPECT_TRUE(hasRecord(recs, "room_edited", "", room));
}

TEST_F(ApiProcessTest, NowRoomsOpenAtOnceAndListsPage) {
  for (int i = 0; i < 3; ++i) createRoom();
  auto page = backend().get("/v1/rooms?state=open&limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.json()["rooms"].size(), 2u);
  ASSERT_TRUE(page.json()["next_cursor"].is_string());
  auto rest = backend().get("/v1/rooms?state=open&limit=2&cursor=" +
                            page.json()["next_cursor"].get<std::string>());
  ASSERT_EQ(rest.status, 200);
  EXPECT_EQ(rest.json()["rooms"].size(), 1u);
  EXPECT_TRUE(rest.json()["next_cursor"].is_null());
  EXPECT_EQ(backend().get("/v1/rooms?limit=0").status, 400);
}

TEST_F(ApiProcessTest, BodiesMustBeJson) {
  auto r = backend().request("POST", "/v1/rooms", roomBody().dump(), "text/plain");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.code(), "unsupported_media_type");
  auto bad = backend().request("POST", "/v1/rooms", "{not json");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.code(), "invalid_json");
  auto unknown = backend().post("/v1/rooms", json{{"mode", "d2p"}, {"nonsense", 1}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(backend().get("/v1/rooms/rm_000000000000000000000000").code(), "room_not_found");
}

TEST_F(ApiProcessTest, MissingOrWrongApiKeyIsRefusedAndLogged) {
  auto none = ApiClient(port_).get("/v1/rooms");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.code(), "invalid_api_key");
  EXPECT_EQ(none.header("www-authenticate"), "Bearer");
  auto wrong = ApiClient(port_, "mrk_not-the-key").post("/v1/rooms", roomBody());
  EXPECT_EQ(wrong.status, 401);
  auto recs = records();
  size_t failures = 0;
  for (const auto& rec : recs) {
    if (rec.value("event", "") == "api_auth_failed" &&
        rec.value("reason", "") == "invalid_api_key") {
      ++failures;
      EXPECT_THAT(rec.value("remote", ""), HasSubstr("127.0.0.1"));
    }
  }
  EXPECT_EQ(failures, 2u);
  auto metrics = ApiClient(port_).get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("medrelay_http_requests_total"));
  EXPECT_THAT(metrics.body, HasSubstr("route=\"/v1/rooms\""));
  EXPECT_THAT(metrics.body, HasSubstr("medrelay_event_loop_lag_seconds"));
  EXPECT_EQ(ApiClient(port_).get("/readyz").status, 200);
}

// Every record the API produced is readable, per room and in total, and the audit tool
// verifies the chain, and detects a flipped byte.
TEST_F(ApiProcessTest, AccessLogExportVerifiesAndDetectsTampering) {
  const std::string room = createRoom();
  const std::string inv_id = invite(room, "patient", "pt-1").json()["id"];
  ASSERT_EQ(backend().del("/v1/rooms/" + room + "/invites/" + inv_id).status, 200);
  auto per_room = backend().get("/v1/rooms/" + room + "/access-log");
  ASSERT_EQ(per_room.status, 200);
  std::set<std::string> events;
  const json per_room_body = per_room.json();
  for (const auto& rec : per_room_body["records"]) {
    EXPECT_EQ(rec["room"], room);
    EXPECT_TRUE(rec.contains("mac"));
    events.insert(rec["event"]);
  }
  EXPECT_EQ(events, (std::set<std::string>{"room_created", "invite_issued", "invite_revoked"}));
  auto since = backend().get("/v1/access-log?since=2000-01-01T00:00:00Z&limit=2");
  ASSERT_EQ(since.status, 200);
  EXPECT_EQ(since.json()["records"].size(), 2u);
  EXPECT_FALSE(since.json()["next_after"].is_null());
  EXPECT_EQ(backend().get("/v1/access-log?since=yesterday").status, 400);

  stop();
  const std::string verify = serverBinary() + " audit verify " + data() + "/access-log --key " +
                             data() + "/access-log.key";
  std::string out;
  EXPECT_EQ(runCommand(verify, &out), 0) << out;
  // Flip one byte inside a record of the newest file.
  std::string newest;
  for (const auto& e : std::filesystem::directory_iterator(data() + "/access-log")) {
    if (e.path().extension() == ".jsonl" && e.path().string() > newest) newest = e.path().string();
  }
  ASSERT_FALSE(newest.empty());
  std::string content = readFile(newest);
  size_t at = content.find("invite_issued");
  ASSERT_NE(at, std::string::npos);
  content[at] = 'J';
  writeFile(newest, content);
  EXPECT_NE(runCommand(verify, &out), 0) << out;
}

// Rooms, invites and tokens survive a restart of the real binary.
TEST_F(ApiProcessTest, RestartKeepsRoomsInvitesAndTokens) {
  const std::string room = createRoom();
  const std::string patient = token(room, "patient", "pt-1");
  ASSERT_EQ(invite(room, "doctor", "dr-1").status, 201);
  stop();
  start();
  auto r = backend().get("/v1/rooms/" + room);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["state"], "open");
  EXPECT_EQ(backend().get("/v1/rooms/" + room + "/invites").json()["invites"].size(), 2u);
  auto info = participant(patient).get("/v1/rooms/" + room + "/info");
  EXPECT_EQ(info.status, 200) << info.body;
  EXPECT_EQ(invite(room, "patient", "pt-2").code(), "patient_already_invited");
  EXPECT_TRUE(hasRecord(records(), "log_reopened"));
}

// SIGKILL in the middle of a burst: every room answered 201 before the kill has its durable
// room_created record after the restart, and the chain verifies.
TEST_F(ApiProcessTest, SigkillLosesNoAcknowledgedRecord) {
  std::vector<std::string> acknowledged;
  std::mutex mu;
  std::atomic<bool> go{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      while (go) {
        auto r = backend().post("/v1/rooms", roomBody());
        if (r.status == 201) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back(r.json()["id"]);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  server_->signal(SIGKILL);
  go = false;
  for (auto& t : threads) t.join();
  server_->waitExit(milliseconds(5000));
  ASSERT_GT(acknowledged.size(), 5u);
  start();
  auto recs = records();
  std::set<std::string> logged;
  for (const auto& rec : recs) {
    if (rec.value("event", "") == "room_created") logged.insert(rec.value("room", ""));
  }
  for (const auto& id : acknowledged) {
    EXPECT_TRUE(logged.count(id)) << id;
    EXPECT_EQ(backend().get("/v1/rooms/" + id).status, 200) << id;
  }
  stop();
  std::string out;
  EXPECT_EQ(runCommand(serverBinary() + " audit verify " + data() + "/access-log --key " + data() +
                           "/access-log.key",
                       &out),
            0)
      << out;
}

}  // namespace
}  // namespace medrelay::test
