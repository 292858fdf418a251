// Join rules through the real binary's HTTP API (WHIP): one live publish session per invite
// (rule 5) and a doctor live in one room at a time, the facility queue (rule 3): one doctor,
// several rooms each with its own patient, held one after another. Rejoining: a silent (stale)
// publish session is taken over by a new join with the same invite once the 409's Retry-After
// has passed, and a session that never connects ends as ice-failed (docs/api.md "Rejoining",
// docs/media.md "Session liveness"). The offers here come from a file and never connect, so
// they are exactly as silent as a phone that died.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"

namespace medrelay::test {
namespace {

class JoinRulesProcessTest : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& extra = {}) {
    auto args = isolatedServerArgs(dir_.str() + "/data");
    args.insert(args.end(), {"--set", "turn.enabled=false"});
    for (const auto& e : extra) args.insert(args.end(), {"--set", e});
    server_ = std::make_unique<ServerProcess>(dir_, args);
    port_ = waitForHttpPort(*server_);
    ASSERT_NE(port_, 0) << server_->output();
    api_ = std::make_unique<ApiClient>(port_, readApiKey(dir_.path() / "data"));
    offer_ = readFile(sourceDir() + "/tests/data/sdp/aiortc_publish.sdp");
    ASSERT_FALSE(offer_.empty());
  }

  std::string room() {
    auto r = api_->post("/v1/rooms", {{"mode", "d2p"},
                                      {"scheduled_start", "now"},
                                      {"institution_id", "clinic-1"},
                                      {"institution_contact", "03-0000-0000"},
                                      {"doctor_display_name", "Dr. Example"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", std::string());
  }
  // Returns the invite token.
  std::string invite(const std::string& room_id, const std::string& role,
                     const std::string& subject) {
    auto r =
        api_->post("/v1/rooms/" + room_id + "/invites", {{"role", role}, {"subject", subject}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("token", std::string());
  }
  ApiResponse publish(const std::string& room_id, const std::string& token) {
    ApiClient participant(port_, token);
    return participant.request("POST", "/v1/rooms/" + room_id + "/whip", offer_, "application/sdp");
  }
  ApiResponse leave(const std::string& token, const std::string& location) {
    ApiClient participant(port_, token);
    return participant.request("DELETE", location, "", "");
  }
  // Publishes as a rejoining client does: on 409 already_connected it waits retry_after_ms and
  // tries again, at most `tries` times. `refusals` gets the 409s it saw.
  ApiResponse rejoin(const std::string& room_id, const std::string& token, int tries,
                     std::vector<ApiResponse>* refusals) {
    ApiResponse r;
    for (int i = 0; i < tries; ++i) {
      r = publish(room_id, token);
      if (r.status != 409 || r.code() != "already_connected") return r;
      refusals->push_back(r);
      const auto wait = r.json().value("retry_after_ms", 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
    return r;
  }
  // The participant_left record of `session` (null if none yet).
  nlohmann::json leftRecord(const std::string& session) {
    for (const auto& rec : exportAccessLog(*api_)) {
      if (rec.value("event", "") == "participant_left" && rec.value("session", "") == session) {
        return rec;
      }
    }
    return nullptr;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  uint16_t port_ = 0;
  std::unique_ptr<ApiClient> api_;
  std::string offer_;
};

TEST_F(JoinRulesProcessTest, OneLivePublishSessionPerInvite) {
  start();
  const std::string r = room();
  const std::string patient = invite(r, "patient", "patient-1");
  auto first = publish(r, patient);
  ASSERT_EQ(first.status, 201) << first.body;
  auto second = publish(r, patient);
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(second.code(), "already_connected");
  // Once the first session has left, the invite may publish again.
  ASSERT_EQ(leave(patient, first.header("Location")).status, 200);
  auto again = publish(r, patient);
  EXPECT_EQ(again.status, 201) << again.body;
}

TEST_F(JoinRulesProcessTest, FacilityQueueOneDoctorRoomsOneAfterAnother) {
  start();
  const std::string a = room();
  const std::string b = room();
  const std::string c = room();
  const std::string doctor_a = invite(a, "doctor", "doctor-42");
  const std::string doctor_b = invite(b, "doctor", "doctor-42");
  const std::string doctor_c = invite(c, "doctor", "doctor-42");
  invite(a, "patient", "patient-a");
  invite(b, "patient", "patient-b");
  invite(c, "patient", "patient-c");

  auto in_a = publish(a, doctor_a);
  ASSERT_EQ(in_a.status, 201) << in_a.body;
  // While the doctor is live in room A, rooms B and C refuse the same doctor subject.
  auto busy_b = publish(b, doctor_b);
  EXPECT_EQ(busy_b.status, 409) << busy_b.body;
  EXPECT_EQ(busy_b.code(), "doctor_busy");
  EXPECT_EQ(publish(c, doctor_c).code(), "doctor_busy");

  // The consultation in A ends (the doctor leaves): the doctor moves on to B, and C still waits.
  ASSERT_EQ(leave(doctor_a, in_a.header("Location")).status, 200);
  auto in_b = publish(b, doctor_b);
  ASSERT_EQ(in_b.status, 201) << in_b.body;
  EXPECT_EQ(publish(c, doctor_c).code(), "doctor_busy");

  // B ends through the API (backend ends the consultation's sessions by cancelling the room).
  ASSERT_EQ(api_->del("/v1/rooms/" + b).status, 200);
  auto in_c = publish(c, doctor_c);
  EXPECT_EQ(in_c.status, 201) << in_c.body;
}

TEST_F(JoinRulesProcessTest, SilentPublishSessionIsTakenOverWhenRetryAfterSaysSo) {
  start({"media.stale_after_ms=1000"});
  const std::string r = room();
  const std::string patient = invite(r, "patient", "patient-1");
  SseReader events(port_, "/v1/rooms/" + r + "/events", readApiKey(dir_.path() / "data"));
  ASSERT_EQ(events.head().status, 200);
  auto first = publish(r, patient);
  ASSERT_EQ(first.status, 201) << first.body;
  ASSERT_EQ(events.next().type, "joined");
  ASSERT_EQ(events.next().type, "published");

  // At once: the first session is still fresh. The 409 says when it will be stale.
  auto fresh = publish(r, patient);
  ASSERT_EQ(fresh.status, 409) << fresh.body;
  EXPECT_EQ(fresh.code(), "already_connected");
  const auto wait = fresh.json().value("retry_after_ms", -1);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, 1000 + 250);
  EXPECT_EQ(fresh.header("retry-after"), std::to_string((wait + 999) / 1000));
  EXPECT_TRUE(fresh.json().contains("stale_at")) << fresh.body;

  // The others hear that the patient went silent, then that the patient is back.
  std::vector<ApiResponse> refusals;
  auto again = rejoin(r, patient, 3, &refusals);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_LE(refusals.size(), 1u) << "the 409's retry_after_ms was too short";
  auto lost = events.next();
  EXPECT_EQ(lost.type, "peer-lost");
  EXPECT_EQ(lost.data.value("session_id", ""), sessionOf(first));
  auto back = events.next();
  EXPECT_EQ(back.type, "joined");
  EXPECT_EQ(back.data.value("session_id", ""), sessionOf(again));

  // The access log says why the first session ended.
  auto left = leftRecord(sessionOf(first));
  ASSERT_FALSE(left.is_null());
  EXPECT_EQ(left.value("reason", ""), "takeover");
  EXPECT_TRUE(leftRecord(sessionOf(again)).is_null());
}

TEST_F(JoinRulesProcessTest, DoctorRejoinInTheSameRoomIsNotBusyButAnotherRoomStillIs) {
  start({"media.stale_after_ms=1000"});
  const std::string a = room();
  const std::string b = room();
  const std::string doctor_a = invite(a, "doctor", "doctor-42");
  const std::string doctor_b = invite(b, "doctor", "doctor-42");
  auto in_a = publish(a, doctor_a);
  ASSERT_EQ(in_a.status, 201) << in_a.body;
  std::vector<ApiResponse> refusals;
  auto back_in_a = rejoin(a, doctor_a, 3, &refusals);
  ASSERT_EQ(back_in_a.status, 201) << back_in_a.body;
  EXPECT_EQ(leftRecord(sessionOf(in_a)).value("reason", ""), "takeover");
  // Stale or not, the doctor's session in A keeps the doctor out of B (rule 3).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto busy = publish(b, doctor_b);
  EXPECT_EQ(busy.status, 409) << busy.body;
  EXPECT_EQ(busy.code(), "doctor_busy");
}

TEST_F(JoinRulesProcessTest, SessionThatNeverConnectsEndsAsIceFailed) {
  start({"media.connect_timeout_ms=1000"});
  const std::string r = room();
  const std::string patient = invite(r, "patient", "patient-1");
  auto first = publish(r, patient);
  ASSERT_EQ(first.status, 201) << first.body;
  nlohmann::json left;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (left.is_null() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    left = leftRecord(sessionOf(first));
  }
  ASSERT_FALSE(left.is_null()) << "the session never ended";
  EXPECT_EQ(left.value("reason", ""), "ice-failed");
  // Its seat is free again.
  EXPECT_EQ(publish(r, patient).status, 201);
}

}  // namespace
}  // namespace medrelay::test
