#include "control/access_log_record.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "control/access_log_key.h"

namespace medrelay::control {
namespace {

// Independently computed (Python hmac/hashlib) for the golden record below.
constexpr char kGoldenBody[] =
    R"({"detail":{"duration_s":1200,"note":"a\"b\n\u0001é"},"event":"participant_left",)"
    R"("invite":"inv-9","key_id":"630dcd29","node":"node-a","prev_mac":)"
    R"("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f","reason":"hangup",)"
    R"("remote":"192.0.2.10:50000","role":"patient","room":"r-1","seq":7,"session":"s-3",)"
    R"("subject":"subj-42","time":"2026-11-21T10:00:00.123456Z","transport":"udp"})";
constexpr char kGoldenMac[] = "b4232cac95efa544e8a782ada97bded27ea1a7558c14fce60248211b4cd0caf1";

std::array<uint8_t, 32> seqBytes(uint8_t start) {
  std::array<uint8_t, 32> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(start + i);
  return b;
}

AccessRecord goldenRecord() {
  AccessRecord r;
  r.seq = 7;
  r.time_us = *parseTime("2026-11-21T10:00:00.123456Z");
  r.event = AccessEvent::kParticipantLeft;
  r.node = "node-a";
  r.key_id = AccessLogKey::fromBytes(seqBytes(0)).id;
  r.prev_mac = toHex(seqBytes(32));
  r.room = "r-1";
  r.invite = "inv-9";
  r.role = "patient";
  r.subject = "subj-42";
  r.session = "s-3";
  r.remote = "192.0.2.10:50000";
  r.transport = "udp";
  r.reason = "hangup";
  r.detail = {{"note", "a\"b\n\x01\xc3\xa9"}, {"duration_s", 1200}};
  return r;
}

TEST(AccessLogRecordTest, KeyIdIsFirstEightHexOfSha256) {
  EXPECT_EQ(AccessLogKey::fromBytes(seqBytes(0)).id, "630dcd29");
}

TEST(AccessLogRecordTest, CanonicalBodyIsStable) {
  EXPECT_EQ(canonicalBody(goldenRecord()), kGoldenBody);
}

TEST(AccessLogRecordTest, MacMatchesIndependentOpenSslHmac) {
  const auto key = seqBytes(0);
  const auto prev = seqBytes(32);
  std::string input(prev.begin(), prev.end());
  input += kGoldenBody;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &len),
            nullptr);
  const std::string direct = toHex(std::span<const uint8_t>(out, len));
  EXPECT_EQ(direct, kGoldenMac);

  Mac prev_mac{};
  std::copy(prev.begin(), prev.end(), prev_mac.begin());
  EXPECT_EQ(toHex(computeMac(key, prev_mac, canonicalBody(goldenRecord()))), kGoldenMac);
}

TEST(AccessLogRecordTest, LineRoundTripsAndInsertsMacInKeyOrder) {
  AccessRecord r = goldenRecord();
  r.mac = kGoldenMac;
  const std::string line = toLine(r);
  EXPECT_NE(line.find(R"("key_id":"630dcd29","mac":")" + std::string(kGoldenMac) + R"(","node")"),
            std::string::npos);
  auto parsed = parseLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->seq, 7u);
  EXPECT_EQ(parsed->event, AccessEvent::kParticipantLeft);
  EXPECT_EQ(parsed->remote, "192.0.2.10:50000");
  EXPECT_EQ(parsed->detail["duration_s"], 1200);
  EXPECT_EQ(canonicalBody(*parsed), kGoldenBody);
}

TEST(AccessLogRecordTest, ParseRejectsNonCanonicalAndUnknown) {
  AccessRecord r = goldenRecord();
  r.mac = kGoldenMac;
  std::string line = toLine(r);
  // Whitespace, reordered keys, duplicate keys: valid JSON, not canonical.
  EXPECT_EQ(parseLine(" " + line).error().code, "non_canonical");
  std::string spaced = line;
  spaced.insert(spaced.find(",\"event\"") + 1, " ");
  EXPECT_EQ(parseLine(spaced).error().code, "non_canonical");
  std::string dup = line;
  dup.insert(1, R"("room":"x",)");
  EXPECT_EQ(parseLine(dup).error().code, "non_canonical");
  EXPECT_EQ(parseLine(line.substr(0, line.size() - 3)).error().code, "unparsable");
  std::string unknown = line;
  unknown.insert(1, R"("name":"Taro",)");
  EXPECT_EQ(parseLine(unknown).error().code, "unparsable");
  std::string bad_event = line;
  bad_event.replace(bad_event.find("participant_left"), 16, "participant_lefx");
  EXPECT_EQ(parseLine(bad_event).error().code, "unparsable");
}

TEST(AccessLogRecordTest, EventNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(AccessEvent::kIoRecovered); ++i) {
    const auto e = static_cast<AccessEvent>(i);
    EXPECT_EQ(parseAccessEvent(toString(e)), e);
  }
  EXPECT_EQ(toString(AccessEvent::kJoinRefused), "join_refused");
  EXPECT_EQ(toString(AccessEvent::kFileLinked), "file_linked");
  EXPECT_FALSE(parseAccessEvent("nope").has_value());
  EXPECT_TRUE(isEndReason("consent-timeout"));
  EXPECT_TRUE(isEndReason("server-restart"));
  EXPECT_FALSE(isEndReason("not_yet_open"));
}

TEST(AccessLogRecordTest, TimeFormatting) {
  EXPECT_EQ(formatTime(0), "1970-01-01T00:00:00.000000Z");
  const auto t = parseTime("2024-02-29T23:59:59.999999Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(formatTime(*t), "2024-02-29T23:59:59.999999Z");
  EXPECT_EQ(formatTime(*t + 1), "2024-03-01T00:00:00.000000Z");
  EXPECT_FALSE(parseTime("2023-02-29T00:00:00.000000Z").has_value());
  EXPECT_FALSE(parseTime("2026-11-21T10:00:00Z").has_value());  // strict: six digits
  EXPECT_EQ(parseTimeLoose("2026-11-21T10:00:00Z"), *parseTime("2026-11-21T10:00:00.000000Z"));
  EXPECT_EQ(parseTimeLoose("2026-11-21"), *parseTime("2026-11-21T00:00:00.000000Z"));
  EXPECT_EQ(parseTimeLoose("2026-11-21T10:00:00.5Z"), *parseTime("2026-11-21T10:00:00.500000Z"));
  EXPECT_FALSE(parseTimeLoose("2026-11-21T10:00:00+09:00").has_value());
}

TEST(AccessLogRecordTest, ValidateRejectsBadInput) {
  AccessRecord r;
  r.room = std::string(300, 'x');
  EXPECT_EQ(validateForAppend(r).error().code, "invalid_record");
  r.room = "\xff\xfe";
  EXPECT_FALSE(validateForAppend(r).ok());
  r.room = "ok";
  r.detail = {{"ratio", 0.5}};
  EXPECT_FALSE(validateForAppend(r).ok());
  r.detail = {{"Bad Key", 1}};
  EXPECT_FALSE(validateForAppend(r).ok());
  r.detail = nlohmann::json::array();
  EXPECT_FALSE(validateForAppend(r).ok());
  r.detail = {{"code", "not_yet_open"}, {"n", 3}, {"list", {"a", "b"}}};
  EXPECT_TRUE(validateForAppend(r).ok());
}

}  // namespace
}  // namespace medrelay::control
