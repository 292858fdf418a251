// DCEP codec (RFC 8832), the chat envelope, and two real usrsctp associations talking through an
// in-memory pipe: DCEP open/ACK, ordered and partially reliable messages, string/binary/empty,
// the maximum message size (refused, channel closed on both sides) and negotiated channels.
#include <gtest/gtest.h>
#include <uv.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "media/chat_envelope.h"
#include "media/dcep.h"
#include "media/sctp_association.h"

namespace medrelay::media {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(DcepTest, ParsesAnOpenChromeSends) {
  // DATA_CHANNEL_OPEN, reliable ordered, priority 256, label "chat", no protocol.
  const Bytes m = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 4, 0, 0, 'c', 'h', 'a', 't'};
  auto o = dcep::parseOpen(m.data(), m.size());
  ASSERT_TRUE(o);
  EXPECT_EQ(o->label, "chat");
  EXPECT_EQ(o->protocol, "");
  EXPECT_EQ(o->priority, 256);
  EXPECT_EQ(o->type.reliability, dcep::Reliability::kReliable);
  EXPECT_FALSE(o->type.unordered);
}

TEST(DcepTest, ParsesPartialReliabilityAndRoundTrips) {
  dcep::Open in;
  in.type = {dcep::Reliability::kMaxRetransmits, true, 3};
  in.label = "chat";
  in.protocol = "medrelay-chat";
  uint8_t buf[64];
  const size_t len = dcep::writeOpen(buf, sizeof(buf), in);
  ASSERT_EQ(len, 12u + 4 + 13);
  EXPECT_EQ(buf[1], 0x81);
  auto o = dcep::parseOpen(buf, len);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->type.reliability, dcep::Reliability::kMaxRetransmits);
  EXPECT_TRUE(o->type.unordered);
  EXPECT_EQ(o->type.parameter, 3u);
  EXPECT_EQ(o->protocol, "medrelay-chat");
  EXPECT_EQ(dcep::writeOpen(buf, 20, in), 0u);  // does not fit
}

TEST(DcepTest, RefusesMalformedOpens) {
  Bytes m = {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 'c', 'h', 'a', 't'};
  EXPECT_FALSE(dcep::parseOpen(m.data(), m.size() - 1));  // label runs past the end
  Bytes longer = m;
  longer.push_back('!');
  EXPECT_FALSE(dcep::parseOpen(longer.data(), longer.size()));  // trailing bytes
  Bytes type = m;
  type[1] = 0x03;  // no such channel type
  EXPECT_FALSE(dcep::parseOpen(type.data(), type.size()));
  Bytes ack = m;
  ack[0] = 0x02;
  EXPECT_FALSE(dcep::parseOpen(ack.data(), ack.size()));
  EXPECT_FALSE(dcep::parseOpen(nullptr, 0));
  const uint8_t a = 0x02;
  EXPECT_TRUE(dcep::isAck(&a, 1));
  EXPECT_FALSE(dcep::isAck(m.data(), 2));
}

TEST(ChatEnvelopeTest, RelabelsWithTheRoleOnly) {
  std::string out;
  ASSERT_TRUE(chat::rewrite(R"({"type":"chat","id":"c-1","text":"こんにちは"})", "doctor", out));
  EXPECT_EQ(out, R"({"from":"doctor","id":"c-1","text":"こんにちは","type":"chat"})");
  // A client cannot pretend to be someone else.
  EXPECT_FALSE(
      chat::rewrite(R"({"type":"chat","id":"c","text":"x","from":"doctor"})", "patient", out));
}

TEST(ChatEnvelopeTest, RefusesAnythingElse) {
  std::string out;
  for (const char* bad :
       {"", "hello", "[]", R"({"type":"chat","id":"c"})",
        R"({"type":"system","id":"c","text":"x"})", R"({"type":"chat","id":"","text":"x"})",
        R"({"type":"chat","id":1,"text":"x"})", R"({"type":"chat","id":"c","text":["x"]})",
        R"({"type":"chat","id":"c","text":"x")",
        "{\"type\":\"chat\",\"id\":\"c\",\"text\":\"\xff\"}"}) {
    EXPECT_FALSE(chat::rewrite(bad, "patient", out)) << bad;
  }
  const std::string longId(chat::kMaxIdLength + 1, 'i');
  EXPECT_FALSE(
      chat::rewrite(R"({"type":"chat","id":")" + longId + R"(","text":"x"})", "doctor", out));
  EXPECT_EQ(chat::systemNotice("rate_limited"), R"({"notice":"rate_limited","type":"system"})");
}

// One side of the pipe: records what its association reports.
struct Side final : SctpAssociation::Callbacks {
  std::deque<Bytes>* outbox = nullptr;
  std::unique_ptr<SctpAssociation> sctp;
  bool connected = false;
  std::vector<DataChannel> opened;
  std::vector<uint16_t> closed;
  std::vector<std::pair<bool, std::string>> messages;
  std::vector<SctpAssociation::Refusal> refused;

  void onSctpSend(const uint8_t* data, size_t len) override {
    outbox->emplace_back(data, data + len);
  }
  void onSctpConnected() override { connected = true; }
  void onSctpClosed() override { connected = false; }
  void onDataChannelOpen(const DataChannel& c) override { opened.push_back(c); }
  void onDataChannelMessage(const DataChannel&, bool binary, const uint8_t* data,
                            size_t len) override {
    messages.emplace_back(binary, std::string(reinterpret_cast<const char*>(data), len));
  }
  void onDataChannelClosed(const DataChannel& c) override { closed.push_back(c.stream); }
  void onDataChannelRefused(SctpAssociation::Refusal r) override { refused.push_back(r); }
};

class SctpAssociationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_.outbox = &toB_;
    b_.outbox = &toA_;
    SctpAssociation::Options o;
    o.maxMessageSize = 4096;
    o.remoteMaxMessageSize = 65536;
    a_.sctp = SctpAssociation::create(dispatcher_, a_, o);
    b_.sctp = SctpAssociation::create(dispatcher_, b_, o);
    ASSERT_TRUE(a_.sctp && b_.sctp);
    ASSERT_TRUE(pumpUntil([&] { return a_.connected && b_.connected; }));
  }

  // Delivers queued packets both ways (never from inside usrsctp) and runs the loop's posted
  // work and timers, until done() or a second of loop time.
  bool pumpUntil(const std::function<bool()>& done) {
    const uint64_t until = uv_now(dispatcher_.loop()) + 5000;
    while (!done()) {
      while (!toA_.empty() || !toB_.empty()) {
        if (!toA_.empty()) {
          Bytes p = std::move(toA_.front());
          toA_.pop_front();
          a_.sctp->receive(p.data(), p.size());
        }
        if (!toB_.empty()) {
          Bytes p = std::move(toB_.front());
          toB_.pop_front();
          // What b received, in tests/fuzz/sctp_fuzz.cpp's format (2-byte length + packet).
          trace_.push_back(static_cast<uint8_t>(p.size() >> 8));
          trace_.push_back(static_cast<uint8_t>(p.size()));
          trace_.insert(trace_.end(), p.begin(), p.end());
          b_.sctp->receive(p.data(), p.size());
        }
      }
      if (done()) break;
      uv_run(dispatcher_.loop(), UV_RUN_NOWAIT);
      uv_update_time(dispatcher_.loop());
      if (uv_now(dispatcher_.loop()) > until) return false;
      if (toA_.empty() && toB_.empty()) uv_sleep(1);
    }
    return true;
  }

  // MEDRELAY_SCTP_SEED_DIR=dir writes each test's packets into dir (fuzz seeds).
  void TearDown() override {
    const char* dir = std::getenv("MEDRELAY_SCTP_SEED_DIR");
    if (dir == nullptr) return;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::ofstream out(std::string(dir) + "/" + info->name(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(trace_.data()),
              static_cast<std::streamsize>(trace_.size()));
  }

  net::Dispatcher dispatcher_{"sctp-test"};
  Bytes trace_;
  std::deque<Bytes> toA_;
  std::deque<Bytes> toB_;
  Side a_;
  Side b_;
};

TEST_F(SctpAssociationTest, NegotiatedChatChannelExistsOnceUp) {
  ASSERT_EQ(b_.opened.size(), 1u);
  EXPECT_TRUE(b_.opened[0].negotiated);
  EXPECT_EQ(b_.opened[0].stream, chat::kNegotiatedStream);
  const std::string hi = R"({"type":"chat","id":"1","text":"hi"})";
  ASSERT_TRUE(a_.sctp->send(chat::kNegotiatedStream, false,
                            reinterpret_cast<const uint8_t*>(hi.data()), hi.size()));
  ASSERT_TRUE(pumpUntil([&] { return !b_.messages.empty(); }));
  EXPECT_EQ(b_.messages[0], std::make_pair(false, hi));
}

TEST_F(SctpAssociationTest, DcepOpenThenOrderedStringBinaryAndEmptyMessages) {
  ASSERT_TRUE(a_.sctp->openChannel(2, "chat", {}));
  ASSERT_TRUE(pumpUntil([&] { return b_.opened.size() == 2; }));
  EXPECT_EQ(b_.opened[1].label, "chat");
  EXPECT_EQ(b_.opened[1].stream, 2);
  EXPECT_FALSE(b_.opened[1].negotiated);
  ASSERT_NE(b_.sctp->channel(2), nullptr);
  std::vector<std::pair<bool, std::string>> sent;
  for (int i = 0; i < 50; ++i) {
    const bool binary = i % 3 == 1;
    const std::string text = i % 10 == 9 ? "" : "message " + std::to_string(i);
    ASSERT_TRUE(
        a_.sctp->send(2, binary, reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    sent.emplace_back(binary, text);
  }
  ASSERT_TRUE(pumpUntil([&] { return b_.messages.size() == sent.size(); }));
  EXPECT_EQ(b_.messages, sent);  // ordered, kinds kept, empty messages as empty (RFC 8831 §6.6)
  // And back, on the channel the peer opened.
  const std::string reply = "ack";
  ASSERT_TRUE(b_.sctp->send(2, false, reinterpret_cast<const uint8_t*>(reply.data()), 3));
  ASSERT_TRUE(pumpUntil([&] { return !a_.messages.empty(); }));
  EXPECT_EQ(a_.messages[0].second, "ack");
  EXPECT_TRUE(b_.refused.empty());
}

TEST_F(SctpAssociationTest, PartiallyReliableUnorderedChannelCarriesMessages) {
  ASSERT_TRUE(a_.sctp->openChannel(4, "chat", {dcep::Reliability::kMaxRetransmits, true, 0}));
  ASSERT_TRUE(pumpUntil([&] { return b_.opened.size() == 2; }));
  EXPECT_TRUE(b_.opened[1].type.unordered);
  EXPECT_EQ(b_.opened[1].type.reliability, dcep::Reliability::kMaxRetransmits);
  const std::string m(1000, 'x');
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(a_.sctp->send(4, true, reinterpret_cast<const uint8_t*>(m.data()), m.size()));
  }
  ASSERT_TRUE(pumpUntil([&] { return b_.messages.size() == 10; }));  // nothing lost here
  // The relay answers with the channel's own reliability.
  ASSERT_TRUE(b_.sctp->send(4, true, reinterpret_cast<const uint8_t*>(m.data()), m.size()));
  ASSERT_TRUE(pumpUntil([&] { return a_.messages.size() == 1; }));
}

TEST_F(SctpAssociationTest, MessageAboveTheMaximumIsRefusedAndItsChannelClosed) {
  ASSERT_TRUE(a_.sctp->openChannel(2, "chat", {}));
  ASSERT_TRUE(pumpUntil([&] { return b_.opened.size() == 2; }));
  const std::string fits(4096, 'a');
  const std::string big(20000, 'b');  // several packets, partial delivery into our buffer
  ASSERT_TRUE(a_.sctp->send(2, false, reinterpret_cast<const uint8_t*>(fits.data()), fits.size()));
  ASSERT_TRUE(a_.sctp->send(2, false, reinterpret_cast<const uint8_t*>(big.data()), big.size()));
  ASSERT_TRUE(pumpUntil([&] { return !a_.closed.empty(); }));
  ASSERT_EQ(b_.messages.size(), 1u);
  EXPECT_EQ(b_.messages[0].second.size(), 4096u);
  ASSERT_EQ(b_.refused.size(), 1u);
  EXPECT_EQ(b_.refused[0], SctpAssociation::Refusal::kTooLarge);
  EXPECT_EQ(b_.sctp->channel(2), nullptr);
  EXPECT_EQ(a_.closed,
            std::vector<uint16_t>{2});  // the peer saw its channel closed (RFC 8831 §6.7)
  // The negotiated channel still works.
  ASSERT_TRUE(a_.sctp->send(chat::kNegotiatedStream, false,
                            reinterpret_cast<const uint8_t*>(fits.data()), 10));
  ASSERT_TRUE(pumpUntil([&] { return b_.messages.size() == 2; }));
}

TEST_F(SctpAssociationTest, DataWithoutAChannelAndBadDcepAreRefused) {
  // Stream 6 has no channel on b: a's side pretends it has one.
  ASSERT_TRUE(a_.sctp->openChannel(6, "chat", {}));
  ASSERT_TRUE(pumpUntil([&] { return b_.opened.size() == 2; }));
  b_.sctp->closeChannel(6);
  ASSERT_TRUE(pumpUntil([&] { return !a_.closed.empty(); }));
  EXPECT_FALSE(a_.sctp->send(6, false, reinterpret_cast<const uint8_t*>("x"), 1));
  EXPECT_TRUE(b_.refused.empty());
}

}  // namespace
}  // namespace medrelay::media
