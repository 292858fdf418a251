// Revocation reaches every open event stream (docs/policy.md, "Events (SSE)"), through the real
// medrelay binary: a participant's GET /v1/rooms/{id}/events ends with its last event (revoked,
// cancelled, ended) and the connection closes within a second; nothing the room emits after
// the revocation (a new patient's invite and join, the admission) reaches it, while the other
// streams keep receiving those events. A new stream with the same token is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"

namespace medrelay::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Reads one event stream on its own thread until the server closes it (or `limit` passes),
// stamping each event and the close.
class StreamWatch {
 public:
  struct Seen {
    std::string type;
    json data;
    Clock::time_point at;
  };

  StreamWatch(uint16_t port, const std::string& path, const std::string& bearer)
      : reader_(port, path, bearer) {}
  ~StreamWatch() { stop(); }
  int status() const { return reader_.head().status; }

  void start(std::chrono::milliseconds limit) {
    thread_ = std::thread([this, limit] {
      const auto deadline = Clock::now() + limit;
      while (Clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto ev = reader_.next(left);
        if (!ev.type.empty()) {
          seen_.push_back({ev.type, ev.data, Clock::now()});
          continue;
        }
        if (reader_.closed()) {
          closedAt_ = Clock::now();
          return;
        }
      }
    });
  }
  void stop() {
    if (thread_.joinable()) thread_.join();
  }
  // After stop().
  const std::vector<Seen>& seen() const { return seen_; }
  std::optional<Clock::time_point> closedAt() const { return closedAt_; }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& s : seen_) out.push_back(s.type);
    return out;
  }
  bool mentions(const std::string& text) const {
    for (const auto& s : seen_) {
      if (s.data.dump().find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  SseReader reader_;
  std::thread thread_;
  std::vector<Seen> seen_;
  std::optional<Clock::time_point> closedAt_;
};

class RevocationProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(
        dir_,
        std::vector<std::string>{"--set", "storage.data_dir=" + data(), "--set",
                                 "http.listen=127.0.0.1:0", "--set", "media.workers=1", "--set",
                                 "media.udp_port=0", "--set", "media.tcp_port=0", "--set",
                                 "turn.enabled=false", "--set", "shutdown.grace_ms=3000"});
    port_ = waitForHttpPort(*server_);
    ASSERT_NE(port_, 0) << server_->output();
    ASSERT_TRUE(server_->waitForOutput("medrelay started")) << server_->output();
    key_ = readApiKey(data());
    ASSERT_FALSE(key_.empty());
    auto r = backend().post("/v1/rooms", {{"mode", "d2p"},
                                          {"scheduled_start", "now"},
                                          {"institution_id", "clinic-1"},
                                          {"institution_contact", "03-0000-0000"},
                                          {"doctor_display_name", "Dr. Example"}});
    ASSERT_EQ(r.status, 201) << r.body;
    room_ = r.json()["id"];
  }

  std::string data() const { return dir_.str() + "/data"; }
  ApiClient backend() const { return ApiClient(port_, key_); }
  std::string events() const { return "/v1/rooms/" + room_ + "/events"; }
  json invite(const std::string& role, const std::string& subject) {
    auto r =
        backend().post("/v1/rooms/" + room_ + "/invites", {{"role", role}, {"subject", subject}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  }
  // A WHIP publish with a recorded offer: a live session, so `joined` and `published` events.
  int publish(const std::string& token) {
    auto r = ApiClient(port_, token)
                 .request("POST", "/v1/rooms/" + room_ + "/whip",
                          readFile(sourceDir() + "/tests/data/sdp/aiortc_publish.sdp"),
                          "application/sdp");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status;
  }
  static double msSince(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  uint16_t port_ = 0;
  std::string key_;
  std::string room_;
};

TEST_F(RevocationProcessTest, RevokedInvitesStreamEndsAtOnceAndHearsNothingAfter) {
  const json doctor = invite("doctor", "dr-1");
  const json patient = invite("patient", "pt-1");
  StreamWatch revoked(port_, events(), patient["token"]);
  StreamWatch doctor_stream(port_, events(), doctor["token"]);
  StreamWatch backend_stream(port_, events(), key_);
  ASSERT_EQ(revoked.status(), 200);
  ASSERT_EQ(doctor_stream.status(), 200);
  ASSERT_EQ(backend_stream.status(), 200);
  revoked.start(std::chrono::seconds(10));
  doctor_stream.start(std::chrono::seconds(4));
  backend_stream.start(std::chrono::seconds(4));
  ASSERT_EQ(publish(patient["token"]), 201);  // heard by every stream: the baseline

  const auto revoke_sent = Clock::now();
  auto r = backend().del("/v1/rooms/" + room_ + "/invites/" + patient["id"].get<std::string>());
  ASSERT_EQ(r.status, 200) << r.body;
  // What the room emits right after the revocation: a new patient's invite and join, the
  // admission. None of it may reach the revoked stream.
  const json second = invite("patient", "pt-2");
  ASSERT_EQ(publish(second["token"]), 201);
  auto admitted = ApiClient(port_, doctor["token"]).post("/v1/rooms/" + room_ + "/admit", nullptr);
  ASSERT_EQ(admitted.status, 200) << admitted.body;
  revoked.stop();
  doctor_stream.stop();
  backend_stream.stop();

  ASSERT_TRUE(revoked.closedAt().has_value()) << "the revoked stream stayed open";
  const double close_ms = msSince(revoke_sent, *revoked.closedAt());
  std::printf("[ measure ] revoked stream closed %.1f ms after the DELETE was sent\n", close_ms);
  EXPECT_LT(close_ms, 1000.0);
  EXPECT_EQ(revoked.types(), (std::vector<std::string>{"joined", "published", "revoked"}));
  ASSERT_FALSE(revoked.seen().empty());
  EXPECT_EQ(revoked.seen().back().data.value("reason", ""), "revoked");
  EXPECT_EQ(revoked.seen().back().data.value("invite_id", ""), patient["id"].get<std::string>());
  EXPECT_FALSE(revoked.mentions(second["id"])) << "the new patient's invite id leaked";

  // The events were emitted: the doctor's and the backend's streams got them.
  EXPECT_TRUE(doctor_stream.mentions(second["id"]));
  EXPECT_THAT(doctor_stream.types(), ::testing::Contains("admitted"));
  EXPECT_THAT(doctor_stream.types(), ::testing::Not(::testing::Contains("revoked")));
  EXPECT_FALSE(doctor_stream.closedAt().has_value());
  EXPECT_TRUE(backend_stream.mentions(second["id"]));
  EXPECT_THAT(backend_stream.types(), ::testing::Contains("admitted"));
  EXPECT_FALSE(backend_stream.closedAt().has_value());  // a revocation never ends the backend's

  auto again = ApiClient(port_, patient["token"]).get(events());
  EXPECT_EQ(again.status, 403);
  EXPECT_EQ(again.code(), "invite_revoked");
}

TEST_F(RevocationProcessTest, CancelledRoomEndsEveryParticipantStream) {
  const json doctor = invite("doctor", "dr-1");
  const json patient = invite("patient", "pt-1");
  StreamWatch patient_stream(port_, events(), patient["token"]);
  StreamWatch doctor_stream(port_, events(), doctor["token"]);
  StreamWatch backend_stream(port_, events(), key_);
  ASSERT_EQ(patient_stream.status(), 200);
  ASSERT_EQ(doctor_stream.status(), 200);
  ASSERT_EQ(backend_stream.status(), 200);
  patient_stream.start(std::chrono::seconds(10));
  doctor_stream.start(std::chrono::seconds(10));
  backend_stream.start(std::chrono::seconds(2));
  ASSERT_EQ(publish(patient["token"]), 201);

  const auto cancel_sent = Clock::now();
  auto r = backend().del("/v1/rooms/" + room_);
  ASSERT_EQ(r.status, 200) << r.body;
  patient_stream.stop();
  doctor_stream.stop();
  backend_stream.stop();

  for (const auto* s : {&patient_stream, &doctor_stream}) {
    ASSERT_TRUE(s->closedAt().has_value()) << "a participant stream stayed open";
    const double close_ms = msSince(cancel_sent, *s->closedAt());
    std::printf("[ measure ] participant stream closed %.1f ms after the cancel was sent\n",
                close_ms);
    EXPECT_LT(close_ms, 1000.0);
    ASSERT_FALSE(s->seen().empty());
    EXPECT_EQ(s->seen().back().type, "cancelled");
    EXPECT_EQ(s->seen().back().data.value("reason", ""), "cancelled");
  }
  EXPECT_THAT(backend_stream.types(), ::testing::Contains("cancelled"));
  EXPECT_FALSE(backend_stream.closedAt().has_value());

  auto again = ApiClient(port_, patient["token"]).get(events());
  EXPECT_EQ(again.status, 403);
  EXPECT_EQ(again.code(), "room_cancelled");
}

TEST_F(RevocationProcessTest, EndedConsultationEndsParticipantStreamsAndRefusesNewOnes) {
  const json doctor = invite("doctor", "dr-1");
  const json patient = invite("patient", "pt-1");
  ApiClient doc(port_, doctor["token"]);
  ASSERT_EQ(doc.post("/v1/rooms/" + room_ + "/admit", nullptr).status, 200);
  StreamWatch patient_stream(port_, events(), patient["token"]);
  ASSERT_EQ(patient_stream.status(), 200);
  patient_stream.start(std::chrono::seconds(10));
  const auto end_sent = Clock::now();
  ASSERT_EQ(doc.post("/v1/rooms/" + room_ + "/end", nullptr).status, 200);
  patient_stream.stop();
  ASSERT_TRUE(patient_stream.closedAt().has_value());
  EXPECT_LT(msSince(end_sent, *patient_stream.closedAt()), 1000.0);
  EXPECT_EQ(patient_stream.types(), (std::vector<std::string>{"ended"}));
  EXPECT_EQ(patient_stream.seen().at(0).data.value("reason", ""), "hangup");

  auto again = ApiClient(port_, patient["token"]).get(events());
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.code(), "room_ended");
  // The backend may still follow an ended room.
  SseReader backend_again(port_, events(), key_);
  EXPECT_EQ(backend_again.head().status, 200);
}

}  // namespace
}  // namespace medrelay::test
