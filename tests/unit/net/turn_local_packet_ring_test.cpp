// LocalPacketRing: the SPSC ring of the in-process TURN path (docs/turn.md).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <vector>

#include "net/dispatcher.h"
#include "net/turn/local_packet_ring.h"

namespace medrelay::net::turn {
namespace {

const SocketAddress kFrom = *SocketAddress::fromIp("127.0.0.1", 50000);
const SocketAddress kTo = *SocketAddress::fromIp("127.0.0.1", 40000);

TEST(LocalPacketRingTest, KeepsOrderAddressesAndBytesAndRefusesWhenFull) {
  LocalPacketRing ring(4);
  for (uint8_t i = 0; i < 4; ++i) {
    const uint8_t data[3] = {i, static_cast<uint8_t>(i + 1), static_cast<uint8_t>(i + 2)};
    ASSERT_TRUE(ring.push(kFrom, kTo, data, sizeof(data)));
  }
  const uint8_t one = 9;
  EXPECT_FALSE(ring.push(kFrom, kTo, &one, 1));  // full
  std::vector<uint8_t> firsts;
  EXPECT_EQ(ring.drain([&](LocalPacketRing::Slot& s) {
    EXPECT_EQ(s.from, kFrom);
    EXPECT_EQ(s.to, kTo);
    EXPECT_EQ(s.len, 3u);
    EXPECT_EQ(s.data[1], s.data[0] + 1);
    firsts.push_back(s.data[0]);
  }),
            4u);
  EXPECT_EQ(firsts, (std::vector<uint8_t>{0, 1, 2, 3}));
  EXPECT_TRUE(ring.push(kFrom, kTo, &one, 1));  // slots are reused
  std::vector<uint8_t> big(LocalPacketRing::kSlotBytes + 1);
  EXPECT_FALSE(ring.push(kFrom, kTo, big.data(), big.size()));
}

TEST(LocalPacketRingTest, OneWakePerBatch) {
  LocalPacketRing ring(8);
  const uint8_t b = 1;
  ASSERT_TRUE(ring.push(kFrom, kTo, &b, 1));
  EXPECT_TRUE(ring.claimWake());
  ASSERT_TRUE(ring.push(kFrom, kTo, &b, 1));
  EXPECT_FALSE(ring.claimWake());  // a drain is already pending
  ring.rearm();
  EXPECT_EQ(ring.drain([](LocalPacketRing::Slot&) {}), 2u);
  ASSERT_TRUE(ring.push(kFrom, kTo, &b, 1));
  EXPECT_TRUE(ring.claimWake());
}

// The protocol across two real loops: a producer thread pushes and posts a drain only when
// claimWake() says so; every datagram arrives, in order, none twice.
TEST(LocalPacketRingTest, EveryDatagramArrivesAcrossThreads) {
  LocalPacketRing ring(64);
  DispatcherThread consumer("consumer");
  DispatcherThread producer("producer");
  constexpr uint32_t kCount = 200000;
  std::atomic<uint32_t> received{0};
  std::atomic<bool> inOrder{true};
  uint32_t expected = 0;  // consumer thread only
  std::atomic<uint32_t> posts{0};
  auto drain = [&] {
    ring.rearm();
    ring.drain([&](LocalPacketRing::Slot& s) {
      uint32_t v = 0;
      std::memcpy(&v, s.data, sizeof(v));
      if (v != expected) inOrder = false;
      expected = v + 1;
      received.fetch_add(1);
    });
  };
  producer.runSync([&] {
    for (uint32_t i = 0; i < kCount;) {
      if (!ring.push(kFrom, kTo, reinterpret_cast<const uint8_t*>(&i), sizeof(i))) {
        std::this_thread::yield();  // full: the consumer catches up
        continue;
      }
      ++i;
      if (ring.claimWake()) {
        posts.fetch_add(1);
        consumer.dispatcher().post(drain);
      }
    }
  });
  for (int i = 0; i < 2000 && received.load() < kCount; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  consumer.runSync([] {});
  EXPECT_EQ(received.load(), kCount);
  EXPECT_TRUE(inOrder.load());
  EXPECT_LT(posts.load(), kCount);  // batched wakeups
}

}  // namespace
}  // namespace medrelay::net::turn
