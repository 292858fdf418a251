// Store and access log never disagree, through the real medrelay binary (docs/access-log.md,
// "Ordering and recovery"): SIGKILL during concurrent invite creation never leaves a usable
// invite without its invite_issued record; with the access-log disk full (a tmpfs mounted by the
// test, root only) a hangup ends the session and its participant_left is written, flagged, once
// space returns, and an admission that hits the first failing write leaves the room waiting.
//
// MEDRELAY_CRASH_RUNS sets the number of SIGKILL rounds (default 3; bench/crash/run uses 20 or
// more) and prints one line of figures per round.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "control/access_log_record.h"
#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"
#include "tests/support/tmpfs_mount.h"

namespace medrelay::test {
namespace {

using nlohmann::json;

int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json roomBody() {
  return {{"mode", "d2p"},
          {"scheduled_start", "now"},
          {"institution_id", "clinic-1"},
          {"institution_contact", "03-0000-0000"},
          {"doctor_display_name", "Dr. Example"}};
}

class DurabilityProcessTest : public ::testing::Test {
 protected:
  void start(const std::string& data_dir, std::vector<std::string> extra = {}) {
    auto args = isolatedServerArgs(data_dir);
    args.insert(args.end(), {"--set", "turn.enabled=false"});
    args.insert(args.end(), extra.begin(), extra.end());
    data_ = data_dir;
    extra_ = extra;
    server_ = std::make_unique<ServerProcess>(dir_, args);
    port_ = waitForHttpPort(*server_);
    ASSERT_NE(port_, 0) << server_->output();
    ASSERT_TRUE(server_->waitForOutput("medrelay started")) << server_->output();
    key_ = readApiKey(data_dir);
    ASSERT_FALSE(key_.empty());
  }
  void restart() { start(data_, extra_); }
  void stop() {
    server_->signal(SIGTERM);
    ASSERT_EQ(server_->waitExit(milliseconds(10000)), 0) << server_->output();
  }
  ApiClient backend() const { return ApiClient(port_, key_); }
  ApiClient as(const std::string& token) const { return ApiClient(port_, token); }

  std::string createRoom() {
    auto r = backend().post("/v1/rooms", roomBody());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }
  ApiResponse whip(const std::string& room, const std::string& token) const {
    return as(token).request("POST", "/v1/rooms/" + room + "/whip",
                             readFile(sourceDir() + "/tests/data/sdp/aiortc_publish.sdp"),
                             "application/sdp");
  }
  std::string verify(const std::string& log_dir, int* rc) const {
    std::string out;
    *rc = runCommand(
        serverBinary() + " audit verify " + log_dir + " --key " + data_ + "/access-log.key", &out);
    return out;
  }
  static std::vector<json> find(const std::vector<json>& recs, const std::string& event,
                                const std::string& room = {}, const std::string& session = {}) {
    std::vector<json> out;
    for (const auto& r : recs) {
      if (r.value("event", "") != event) continue;
      if (!room.empty() && r.value("room", "") != room) continue;
      if (!session.empty() && r.value("session", "") != session) continue;
      out.push_back(r);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::string data_;
  std::vector<std::string> extra_;
  uint16_t port_ = 0;
  std::string key_;
};

int crashRuns() {
  const char* e = std::getenv("MEDRELAY_CRASH_RUNS");
  const int n = e != nullptr ? std::atoi(e) : 0;
  return n > 0 ? n : 3;
}

// Item 6: four clients create invites (a patient seat and supporters with consent, in 24 rooms)
// as fast as the server answers; SIGKILL lands at a random moment of the burst. After the
// restart every invite the API lists has its invite_issued record, every invite answered 201
// before the kill is listed, no patient seat is held by an invite without a record, and the
// chain verifies.
TEST_F(DurabilityProcessTest, SigkillDuringInviteBurstsLeavesNoInviteWithoutItsRecord) {
  std::mt19937 rng(std::random_device{}());
  const int runs = crashRuns();
  size_t total_undone = 0;
  for (int round = 0; round < runs; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string data = dir_.str() + "/crash-" + std::to_string(round);
    ASSERT_NO_FATAL_FAILURE(start(data));
    std::vector<std::string> rooms;
    rooms.reserve(24);
    for (int i = 0; i < 24; ++i) rooms.push_back(createRoom());

    std::mutex mu;
    std::set<std::string> acknowledged;
    std::atomic<bool> killed{false};
    std::atomic<int> answered{0};
    std::vector<std::thread> clients;
    clients.reserve(4);
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&, t] {
        const ApiClient api = backend();
        for (int k = 0; !killed; ++k) {
          const std::string& room = rooms[static_cast<size_t>(t + 4 * k) % rooms.size()];
          json body = {{"subject", "subj-" + std::to_string(t) + "-" + std::to_string(k)}};
          if (k % 3 == 0) {
            body["role"] = "patient";
          } else {
            body["role"] = "supporter";
            body["consent"] = {
                {"given_by", "pt-1"}, {"given_at", "2026-01-01T00:00:00Z"}, {"role", "supporter"}};
          }
          auto r = api.post("/v1/rooms/" + room + "/invites", body);
          if (r.status == 0) break;  // the server is gone
          if (r.status == 201) {
            std::lock_guard lock(mu);
            acknowledged.insert(r.json().value("id", ""));
          }
          ++answered;
        }
      });
    }
    const auto up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (answered < 8 && std::chrono::steady_clock::now() < up) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    const int delay_ms = std::uniform_int_distribution<int>(0, 400)(rng);
    std::this_thread::sleep_for(milliseconds(delay_ms));
    server_->signal(SIGKILL);
    server_->waitExit(milliseconds(5000));
    killed = true;
    for (auto& c : clients) c.join();
    ASSERT_FALSE(acknowledged.empty());

    ASSERT_NO_FATAL_FAILURE(restart());
    const auto recs = exportAccessLog(backend());
    std::set<std::string> issued;
    for (const auto& r : find(recs, "invite_issued")) issued.insert(r.value("invite", ""));
    size_t listed = 0;
    for (const auto& room : rooms) {
      auto r = backend().get("/v1/rooms/" + room + "/invites");
      ASSERT_EQ(r.status, 200) << r.body;
      bool patient_seat = false;
      const json listing = r.json();
      for (const auto& inv : listing["invites"]) {
        const std::string id = inv.value("id", "");
        ++listed;
        EXPECT_TRUE(issued.count(id)) << "invite " << id << " is usable but has no invite_issued";
        if (inv.value("role", "") == "patient" && inv["revoked_at"].is_null()) patient_seat = true;
      }
      if (!patient_seat) {
        // The seat is free: no unlogged patient invite blocks it.
        auto p = backend().post("/v1/rooms/" + room + "/invites",
                                {{"role", "patient"}, {"subject", "subj-after"}});
        EXPECT_EQ(p.status, 201) << p.body;
      }
    }
    {
      // Durability: nothing answered 201 was lost.
      std::set<std::string> all;
      for (const auto& room : rooms) {
        const json listing = backend().get("/v1/rooms/" + room + "/invites").json();
        for (const auto& inv : listing["invites"]) all.insert(inv.value("id", ""));
      }
      for (const auto& id : acknowledged) EXPECT_TRUE(all.count(id)) << "acknowledged " << id;
    }
    size_t undone = 0;
    std::smatch m;
    const std::string out = server_->output();
    static const std::regex line("settled pending access-log records: ([0-9]+) undone");
    if (std::regex_search(out, m, line)) undone = std::stoul(m[1].str());
    total_undone += undone;
    ASSERT_NO_FATAL_FAILURE(stop());
    int rc = -1;
    const std::string verified = verify(data + "/access-log", &rc);
    EXPECT_EQ(rc, 0) << verified;
    std::printf(
        "crash round %d: killed %d ms into the burst; %zu invites answered 201, %zu listed after "
        "restart, %zu invite_issued records, %zu unlogged changes undone at start\n",
        round, delay_ms, acknowledged.size(), listed, issued.size(), undone);
  }
  std::printf("crash rounds: %d, unlogged changes undone in all: %zu\n", runs, total_undone);
}

// Item 6, disk full: a tmpfs of 2 MiB holds the access log; it is filled to the last byte.
TEST_F(DurabilityProcessTest, DiskFullHangupAndAdmissionAgreeWithTheLogOnceSpaceReturns) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  const auto mnt = dir_.path() / "mnt";
  TmpfsMount tmpfs(mnt, "2m");
  if (!tmpfs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here: " << tmpfs.error();
  const std::string log_dir = (mnt / "log").string();
  ASSERT_NO_FATAL_FAILURE(start(dir_.str() + "/data", {"--set", "access_log.dir=" + log_dir}));

  const std::string room = createRoom();
  auto doctor = backend().post("/v1/rooms/" + room + "/invites",
                               {{"role", "doctor"}, {"subject", "subj-doc"}});
  auto patient = backend().post("/v1/rooms/" + room + "/invites",
                                {{"role", "patient"}, {"subject", "subj-pt"}});
  ASSERT_EQ(doctor.status, 201);
  ASSERT_EQ(patient.status, 201);
  auto doctor_join = whip(room, doctor.json().value("token", ""));
  auto patient_join = whip(room, patient.json().value("token", ""));
  ASSERT_EQ(doctor_join.status, 201) << doctor_join.body;
  ASSERT_EQ(patient_join.status, 201) << patient_join.body;
  const std::string doctor_session = sessionOf(doctor_join);
  // Rooms to admit while the disk fills: the admission that meets the first failing write is
  // the one under test.
  std::vector<std::string> waiting;
  waiting.reserve(60);
  for (int i = 0; i < 60; ++i) waiting.push_back(createRoom());

  {
    std::ofstream filler(mnt / "filler", std::ios::binary);
    const std::string chunk(4096, 'x');
    while (filler.write(chunk.data(), static_cast<std::streamsize>(chunk.size()))) filler.flush();
  }
  {
    std::ofstream filler(mnt / "filler2", std::ios::binary);
    while (filler.put('x')) filler.flush();
  }
  // The log file's last page still takes a few records: admissions use it up.
  std::string refused_room;
  std::vector<std::string> admitted;
  for (const auto& r : waiting) {
    auto a = backend().post("/v1/rooms/" + r + "/admit", nullptr);
    if (a.status == 503) {
      EXPECT_EQ(a.code(), "access_log_unavailable");
      refused_room = r;
      break;
    }
    ASSERT_EQ(a.status, 200) << a.body;
    admitted.push_back(r);
  }
  ASSERT_FALSE(refused_room.empty()) << "the tmpfs never filled up";
  auto refused = backend().get("/v1/rooms/" + refused_room);
  EXPECT_EQ(refused.json().value("state", ""), "open") << refused.body;
  EXPECT_TRUE(refused.json()["admitted_at"].is_null());

  // The doctor hangs up while the log cannot be written: the session ends all the same.
  const int64_t hangup_sent = nowUs();
  auto hangup =
      as(doctor.json().value("token", "")).del("/v1/rooms/" + room + "/sessions/" + doctor_session);
  const int64_t hangup_answered = nowUs();
  EXPECT_EQ(hangup.status, 200) << hangup.body;
  auto detail = backend().get("/v1/rooms/" + room).json();
  ASSERT_EQ(detail["sessions"].size(), 1u) << detail.dump();
  EXPECT_EQ(detail["sessions"][0].value("id", ""), sessionOf(patient_join));
  EXPECT_EQ(backend().post("/v1/rooms/" + room + "/admit", nullptr).status, 503);
  EXPECT_EQ(backend().get("/v1/rooms/" + room).json().value("state", ""), "open");

  std::filesystem::remove(mnt / "filler");
  std::filesystem::remove(mnt / "filler2");
  ASSERT_EQ(waitForReady(port_), 200);
  // The owed participant_left is written within a few timer ticks of the recovery.
  std::vector<json> left;
  for (int i = 0; i < 100 && left.empty(); ++i) {
    left = find(exportAccessLog(backend()), "participant_left", room, doctor_session);
    if (left.empty()) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].value("reason", ""), "hangup");
  ASSERT_TRUE(left[0]["detail"].is_object()) << left[0].dump();
  EXPECT_EQ(left[0]["detail"].value("recovered", false), true) << left[0].dump();
  const auto occurred = control::parseTime(left[0]["detail"].value("occurred_at", ""));
  ASSERT_TRUE(occurred.has_value()) << left[0].dump();
  EXPECT_GE(*occurred, hangup_sent);
  EXPECT_LE(*occurred, hangup_answered);

  // The refused admission did not happen; it can happen now, once.
  ASSERT_EQ(backend().post("/v1/rooms/" + refused_room + "/admit", nullptr).status, 200);
  ASSERT_EQ(backend().post("/v1/rooms/" + room + "/admit", nullptr).status, 200);
  const auto recs = exportAccessLog(backend());
  EXPECT_EQ(find(recs, "consultation_started", refused_room).size(), 1u);
  EXPECT_EQ(find(recs, "consultation_started", room).size(), 1u);
  for (const auto& r : admitted) {
    EXPECT_EQ(find(recs, "consultation_started", r).size(), 1u) << r;
    EXPECT_EQ(backend().get("/v1/rooms/" + r).json().value("state", ""), "in_consultation");
  }
  EXPECT_EQ(find(recs, "io_recovered").size(), 1u);

  // A restart finds nothing owed: no record is written twice.
  ASSERT_NO_FATAL_FAILURE(stop());
  ASSERT_NO_FATAL_FAILURE(restart());
  EXPECT_EQ(server_->output().find("settled pending access-log records"), std::string::npos)
      << server_->output();
  const auto after = exportAccessLog(backend());
  EXPECT_EQ(find(after, "participant_left", room, doctor_session).size(), 1u);
  ASSERT_NO_FATAL_FAILURE(stop());
  int rc = -1;
  const std::string verified = verify(log_dir, &rc);
  EXPECT_EQ(rc, 0) << verified;
}

}  // namespace
}  // namespace medrelay::test
