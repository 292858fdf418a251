// Join rules through the real binary's HTTP API (WHIP): one live publish session per invite
// (rule 5) and a doctor live in one room at a time, the facility queue (rule 3): one doctor,
// several rooms each with its own patient, held one after another.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"

namespace medrelay::test {
namespace {

class JoinRulesProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto args = isolatedServerArgs(dir_.str() + "/data");
    args.insert(args.end(), {"--set", "turn.enabled=false"});
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

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  uint16_t port_ = 0;
  std::unique_ptr<ApiClient> api_;
  std::string offer_;
};

TEST_F(JoinRulesProcessTest, OneLivePublishSessionPerInvite) {
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

}  // namespace
}  // namespace medrelay::test
