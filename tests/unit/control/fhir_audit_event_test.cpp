#include "control/fhir_audit_event.h"

#include <gtest/gtest.h>

namespace medrelay::control {
namespace {

AccessRecord joined() {
  AccessRecord r;
  r.seq = 7;
  r.time_us = 1'795'000'000'123'456;
  r.node = "node-a";
  r.key_id = "630dcd29";
  r.prev_mac = std::string(64, 'a');
  r.mac = std::string(64, 'b');
  r.event = AccessEvent::kParticipantJoined;
  r.room = "r-1";
  r.invite = "inv-9";
  r.role = "patient";
  r.subject = "subj-42";
  r.session = "s-3";
  r.remote = "[2001:db8::7]:50000";
  r.transport = "udp";
  r.detail = {{"direction", "publish"}};
  return r;
}

const nlohmann::json* detailOf(const nlohmann::json& ev, const std::string& type) {
  for (const auto& e : ev["entity"]) {
    if (!e.contains("detail")) continue;
    for (const auto& d : e["detail"]) {
      if (d["type"] == type) return &d;
    }
  }
  return nullptr;
}

TEST(FhirAuditEventTest, JoinIsALoginByTheSubjectWithTheRecordsChainFields) {
  const auto ev = toFhirAuditEvent(joined());
  EXPECT_EQ(ev["resourceType"], "AuditEvent");
  EXPECT_EQ(ev["id"], "node-a-7");
  EXPECT_EQ(ev["type"]["system"], kDicomSystem);
  EXPECT_EQ(ev["type"]["code"], "110114");
  EXPECT_EQ(ev["subtype"][0]["code"], "110122");
  EXPECT_EQ(ev["action"], "E");
  EXPECT_EQ(ev["outcome"], "0");
  EXPECT_EQ(ev["recorded"], formatTime(1'795'000'000'123'456));
  ASSERT_EQ(ev["agent"].size(), 2u);
  const auto& who = ev["agent"][0];
  EXPECT_EQ(who["requestor"], true);
  EXPECT_EQ(who["who"]["identifier"]["system"], kSubjectIdentifierSystem);
  EXPECT_EQ(who["who"]["identifier"]["value"], "subj-42");
  EXPECT_EQ(who["role"][0]["text"], "patient");
  EXPECT_EQ(who["network"]["address"], "2001:db8::7");
  EXPECT_EQ(who["network"]["type"], "2");
  EXPECT_EQ(ev["agent"][1]["requestor"], false);
  EXPECT_EQ(ev["source"]["observer"]["display"], "node-a");
  ASSERT_NE(detailOf(ev, "seq"), nullptr);
  EXPECT_EQ((*detailOf(ev, "seq"))["valueString"], "7");
  EXPECT_EQ((*detailOf(ev, "mac"))["valueString"], std::string(64, 'b'));
  EXPECT_EQ((*detailOf(ev, "prev_mac"))["valueString"], std::string(64, 'a'));
  EXPECT_EQ((*detailOf(ev, "key_id"))["valueString"], "630dcd29");
  EXPECT_EQ(ev["entity"][0]["what"]["identifier"]["value"], "r-1");
}

TEST(FhirAuditEventTest, EveryEventMapsToStatedCodeSystemsAndRequiredElements) {
  for (int i = 0; i <= static_cast<int>(AccessEvent::kIoRecovered); ++i) {
    AccessRecord r = joined();
    r.event = static_cast<AccessEvent>(i);
    if (r.event == AccessEvent::kApiAuthFailed || r.event >= AccessEvent::kKeyRotated) {
      r.subject.clear();
      r.invite.clear();
      r.session.clear();
      r.role.clear();
    }
    SCOPED_TRACE(std::string(toString(r.event)));
    const auto ev = toFhirAuditEvent(r);
    const std::string type_system = ev["type"]["system"];
    EXPECT_TRUE(type_system == kDicomSystem || type_system == kAuditEventTypeSystem);
    if (r.event != AccessEvent::kClockSync) {
      const std::string sub_system = ev["subtype"][0]["system"];
      EXPECT_TRUE(sub_system == kDicomSystem || sub_system == kRestfulInteractionSystem);
    }
    EXPECT_NE(std::string("CRUDE").find(ev["action"].get<std::string>()), std::string::npos);
    const std::string outcome = ev["outcome"];
    EXPECT_TRUE(outcome == "0" || outcome == "4" || outcome == "8" || outcome == "12");
    ASSERT_FALSE(ev["agent"].empty());
    int requestors = 0;
    for (const auto& a : ev["agent"]) {
      ASSERT_TRUE(a["requestor"].is_boolean());
      requestors += a["requestor"].get<bool>() ? 1 : 0;
    }
    EXPECT_EQ(requestors, 1);
    EXPECT_TRUE(ev["source"]["observer"].is_object());
  }
  AccessRecord refused = joined();
  refused.event = AccessEvent::kJoinRefused;
  refused.reason = "not_yet_open";
  const auto ev = toFhirAuditEvent(refused);
  EXPECT_EQ(ev["outcome"], "4");
  EXPECT_EQ(ev["outcomeDesc"], "not_yet_open");
}

TEST(FhirAuditEventTest, BundleCarriesTheChainHead) {
  const auto b =
      toFhirBundle({joined()}, ChainHead{9, std::string(64, 'c'), 1'795'000'001'000'000});
  EXPECT_EQ(b["resourceType"], "Bundle");
  EXPECT_EQ(b["type"], "collection");
  EXPECT_FALSE(b.contains("total"));  // bdl-1: only for searchset and history
  ASSERT_EQ(b["entry"].size(), 1u);
  const auto& ext = b["meta"]["extension"][0];
  EXPECT_EQ(ext["url"], kChainHeadExtension);
  EXPECT_EQ(ext["extension"][0]["valueUnsignedInt"], 9);
  EXPECT_EQ(ext["extension"][1]["valueString"], std::string(64, 'c'));
}

}  // namespace
}  // namespace medrelay::control
