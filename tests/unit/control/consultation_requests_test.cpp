#include "control/consultation_requests.h"

#include <gtest/gtest.h>

#include "control/access_log_record.h"
#include "control/consultation_service.h"
#include "control/policy.h"

namespace medrelay::control {
namespace {

using nlohmann::json;

json validRoom() {
  return {{"mode", "d2p_with_n"},
          {"scheduled_start", "2026-11-21T19:00:00+09:00"},
          {"institution_id", "clinic-1"},
          {"institution_contact", "03-0000-0000 (受付)"},
          {"doctor_display_name", "佐藤 医師"},
          {"title", "再診"},
          {"external_ref", "ORD-1"}};
}

// The code and the field a bad request is refused with.
std::pair<std::string, std::string> refusal(const Result<CreateRoomRequest>& r) {
  if (r.ok()) return {"ok", ""};
  return {r.error().code, errorField(r.error())};
}

TEST(ConsultationRequestsTest, CreateRoomParsesTimesWithOffsetsAndNow) {
  auto r = parseCreateRoom(validRoom());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mode, RoomMode::kD2PWithN);
  EXPECT_EQ(r->scheduled_start_us, parseTime("2026-11-21T10:00:00.000000Z"));
  EXPECT_EQ(r->doctor_display_name, "佐藤 医師");
  EXPECT_FALSE(r->opens_at_us.has_value());
  auto body = validRoom();
  body["scheduled_start"] = "now";
  body["opens_at"] = "2026-11-21T09:00:00.5Z";
  body["closes_at"] = "2026-11-22t10:00:00z";
  r = parseCreateRoom(body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->scheduled_start_us.has_value());
  EXPECT_EQ(*r->opens_at_us, *parseTime("2026-11-21T09:00:00.500000Z"));
  EXPECT_EQ(*r->closes_at_us, *parseTime("2026-11-22T10:00:00.000000Z"));
}

TEST(ConsultationRequestsTest, CreateRoomRefusalsNameTheField) {
  auto with = [](const char* key, json value) {
    auto b = validRoom();
    b[key] = std::move(value);
    return parseCreateRoom(b);
  };
  auto without = [](const char* key) {
    auto b = validRoom();
    b.erase(key);
    return parseCreateRoom(b);
  };
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(refusal(parseCreateRoom(json::array())), P("invalid_json", ""));
  EXPECT_EQ(refusal(with("colour", "red")), P("unknown_field", "colour"));
  EXPECT_EQ(refusal(with("mode", "group")), P("invalid_field", "mode"));
  EXPECT_EQ(refusal(with("mode", 3)), P("invalid_field", "mode"));
  EXPECT_EQ(refusal(without("mode")), P("missing_field", "mode"));
  EXPECT_EQ(refusal(without("institution_contact")), P("missing_field", "institution_contact"));
  EXPECT_EQ(refusal(with("scheduled_start", "tomorrow")), P("invalid_field", "scheduled_start"));
  EXPECT_EQ(refusal(with("scheduled_start", "2026-02-30T10:00:00Z")),
            P("invalid_field", "scheduled_start"));
  EXPECT_EQ(refusal(with("scheduled_start", "2026-11-21")), P("invalid_field", "scheduled_start"));
  EXPECT_EQ(refusal(with("scheduled_start", "1999-12-31T23:59:59Z")),
            P("invalid_field", "scheduled_start"));
  EXPECT_EQ(refusal(with("opens_at", "2026-11-21T10:00:00+25:00")), P("invalid_field", "opens_at"));
  EXPECT_EQ(refusal(with("title", std::string(201, 'x'))), P("invalid_field", "title"));
  EXPECT_EQ(refusal(with("title", std::string(200, 'x'))), P("ok", ""));
  EXPECT_EQ(refusal(with("doctor_display_name", "a\nb")),
            P("invalid_field", "doctor_display_name"));
  EXPECT_EQ(refusal(with("doctor_display_name", "")), P("invalid_field", "doctor_display_name"));
  EXPECT_EQ(refusal(with("institution_id", "clinic 1")), P("invalid_field", "institution_id"));
  EXPECT_EQ(refusal(with("institution_id", std::string(129, 'a'))),
            P("invalid_field", "institution_id"));
  auto b = validRoom();
  b["opens_at"] = "2026-11-22T10:00:00Z";
  b["closes_at"] = "2026-11-21T10:00:00Z";
  EXPECT_EQ(refusal(parseCreateRoom(b)), P("invalid_field", "closes_at"));
  b["opens_at"] = "2026-01-01T00:00:00Z";
  b["closes_at"] = "2026-03-01T00:00:00Z";
  EXPECT_EQ(refusal(parseCreateRoom(b)), P("invalid_field", "closes_at"));  // > 31 days
  for (const auto& code : {"invalid_json", "unknown_field", "missing_field", "invalid_field"}) {
    EXPECT_EQ(policyStatus(code), 400);
  }
  // The error body names the field for the client.
  EXPECT_EQ(errorBody(with("title", 5).error())["field"], "title");
}

TEST(ConsultationRequestsTest, PatchAllowsTitleAndDoctorOnly) {
  auto p = parsePatchRoom({{"title", "x"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p->title, "x");
  EXPECT_FALSE(p->doctor_display_name.has_value());
  for (const char* k : {"scheduled_start", "opens_at", "closes_at"}) {
    auto r = parsePatchRoom({{"title", "x"}, {k, "2026-11-21T10:00:00Z"}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "start_time_immutable") << k;
    EXPECT_EQ(errorField(r.error()), k);
  }
  EXPECT_EQ(parsePatchRoom({{"mode", "d2p"}}).error().code, "field_immutable");
  EXPECT_EQ(parsePatchRoom({{"nope", 1}}).error().code, "unknown_field");
  EXPECT_EQ(parsePatchRoom(json::object()).error().code, "missing_field");
  EXPECT_EQ(parsePatchRoom({{"doctor_display_name", ""}}).error().code, "invalid_field");
  auto cleared = parsePatchRoom({{"title", nullptr}});  // null clears the title
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(*cleared->title, "");
}

TEST(ConsultationRequestsTest, InviteValidatesSubjectAndConsent) {
  auto r = parseCreateInvite(
      {{"role", "nurse"},
       {"subject", "staff:n-01@clinic"},
       {"consent",
        {{"given_by", "pat-1"}, {"given_at", "2026-11-21T09:30:00Z"}, {"role", "nurse"}}}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->role, Role::kNurse);
  ASSERT_TRUE(r->consent.has_value());
  EXPECT_EQ(r->consent->given_by, "pat-1");
  auto code_field = [](const json& body) {
    auto x = parseCreateInvite(body);
    return x.ok() ? std::string("ok") : x.error().code + "@" + errorField(x.error());
  };
  EXPECT_EQ(code_field({{"role", "admin"}, {"subject", "a"}}), "invalid_field@role");
  EXPECT_EQ(code_field({{"role", "patient"}}), "missing_field@subject");
  EXPECT_EQ(code_field({{"role", "patient"}, {"subject", "山田"}}), "invalid_field@subject");
  EXPECT_EQ(code_field({{"role", "patient"}, {"subject", "a/b"}}), "invalid_field@subject");
  EXPECT_EQ(code_field({{"role", "patient"}, {"subject", std::string(129, 'a')}}),
            "invalid_field@subject");
  EXPECT_EQ(code_field({{"role", "patient"}, {"subject", "a"}, {"token", "x"}}),
            "unknown_field@token");
  EXPECT_EQ(
      code_field(
          {{"role", "supporter"},
           {"subject", "f-1"},
           {"consent",
            {{"given_by", "pat-1"}, {"given_at", "2026-11-21T09:30:00Z"}, {"role", "nurse"}}}}),
      "invalid_field@consent.role");
  EXPECT_EQ(code_field({{"role", "supporter"},
                        {"subject", "f-1"},
                        {"consent", {{"given_by", "pat-1"}, {"role", "supporter"}}}}),
            "missing_field@consent.given_at");
  EXPECT_EQ(code_field({{"role", "supporter"}, {"subject", "f-1"}, {"consent", "yes"}}),
            "invalid_field@consent");
  // Consent is a policy question, not a parse one: a supporter without it parses.
  EXPECT_EQ(code_field({{"role", "supporter"}, {"subject", "f-1"}}), "ok");
}

TEST(ConsultationRequestsTest, RoomFilterQuery) {
  auto f = parseRoomFilter({{"state", "open"}, {"limit", "20"}, {"from", "2026-11-21T00:00:00Z"}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->state, RoomState::kOpen);
  EXPECT_EQ(f->limit, 20u);
  EXPECT_EQ(parseRoomFilter({{"limit", "0"}}).error().code, "invalid_field");
  EXPECT_EQ(parseRoomFilter({{"limit", "501"}}).error().code, "invalid_field");
  EXPECT_EQ(parseRoomFilter({{"limit", "5x"}}).error().code, "invalid_field");
  EXPECT_EQ(parseRoomFilter({{"state", "busy"}}).error().code, "invalid_field");
  EXPECT_EQ(parseRoomFilter({{"sort", "x"}}).error().code, "unknown_field");
}

}  // namespace
}  // namespace medrelay::control
