// usrsctp's shared clock across media workers (docs/media.md "Data channels"): two workers, each
// with its own association pair on its own loop, lose every 7th packet so that retransmission
// timers fire — on whichever worker advances the clock — and every message still arrives, in
// order, while every packet an association produces is handed to it on its own worker's thread.
#include <gtest/gtest.h>
#include <usrsctp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "media/chat_envelope.h"
#include "media/sctp_association.h"
#include "net/dispatcher.h"

namespace medrelay::media {
namespace {

using namespace std::chrono_literals;

struct Peer;

// Both ends of one association pair, living on one worker's loop.
struct Pair {
  net::Dispatcher* loop = nullptr;
  std::unique_ptr<Peer> a;
  std::unique_ptr<Peer> b;
  std::atomic<int> offThread{0};  // packets handed out on another thread
  int sent = 0;
};

struct Peer final : SctpAssociation::Callbacks {
  Pair* pair = nullptr;
  Peer* other = nullptr;
  std::unique_ptr<SctpAssociation> sctp;
  std::atomic<bool> up{false};
  std::vector<std::string> got;
  std::atomic<size_t> gotCount{0};

  void onSctpSend(const uint8_t* d, size_t n) override {
    if (!pair->loop->isLoopThread()) ++pair->offThread;
    if (up && other->up && ++pair->sent % 7 == 0) return;  // lost on the way
    std::vector<uint8_t> p(d, d + n);
    Peer* to = other;
    pair->loop->post([to, p = std::move(p)] {
      if (to->sctp) to->sctp->receive(p.data(), p.size());
    });
  }
  void onSctpConnected() override { up = true; }
  void onSctpClosed() override { up = false; }
  void onDataChannelOpen(const DataChannel&) override {}
  void onDataChannelMessage(const DataChannel&, bool, const uint8_t* d, size_t n) override {
    got.emplace_back(reinterpret_cast<const char*>(d), n);
    ++gotCount;
  }
  void onDataChannelClosed(const DataChannel&) override {}
  void onDataChannelRefused(SctpAssociation::Refusal) override {}
};

TEST(SctpWorkersTest, TimersOfOneWorkerReachAnotherWorkersAssociationsOnTheirOwnThread) {
  net::DispatcherThread w0("worker-0");
  net::DispatcherThread w1("worker-1");
  std::vector<std::unique_ptr<Pair>> pairs;
  for (net::DispatcherThread* w : {&w0, &w1}) {
    auto p = std::make_unique<Pair>();
    p->loop = &w->dispatcher();
    Pair* raw = p.get();
    w->runSync([raw] {
      raw->a = std::make_unique<Peer>();
      raw->b = std::make_unique<Peer>();
      raw->a->pair = raw->b->pair = raw;
      raw->a->other = raw->b.get();
      raw->b->other = raw->a.get();
      SctpAssociation::Options o;
      raw->a->sctp = SctpAssociation::create(*raw->loop, *raw->a, o);
      raw->b->sctp = SctpAssociation::create(*raw->loop, *raw->b, o);
    });
    ASSERT_TRUE(raw->a->sctp && raw->b->sctp);
    pairs.push_back(std::move(p));
  }
  // Retransmission timeouts short enough for a test (RFC 9260 §6.3.1 allows any RTO.Min).
  usrsctp_sysctl_set_sctp_rto_min_default(50);
  usrsctp_sysctl_set_sctp_rto_initial_default(100);
  auto waitFor = [](const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
    return done();
  };
  ASSERT_TRUE(waitFor([&] {
    for (auto& p : pairs) {
      if (!p->a->up || !p->b->up) return false;
    }
    return true;
  }));
  constexpr int kMessages = 60;
  for (size_t i = 0; i < pairs.size(); ++i) {
    Pair* raw = pairs[i].get();
    // Spread over time so that some go out while the other worker drives the clock.
    for (int m = 0; m < kMessages; ++m) {
      (i == 0 ? w0 : w1).runSync([raw, m] {
        const std::string text = "m" + std::to_string(m);
        ASSERT_TRUE(raw->a->sctp->send(chat::kNegotiatedStream, false,
                                       reinterpret_cast<const uint8_t*>(text.data()), text.size()));
      });
      if (m % 10 == 0) std::this_thread::sleep_for(10ms);
    }
  }
  EXPECT_TRUE(waitFor([&] {
    for (auto& p : pairs) {
      if (p->b->gotCount < kMessages) return false;
    }
    return true;
  })) << "retransmissions did not complete";
  for (size_t i = 0; i < pairs.size(); ++i) {
    Pair* raw = pairs[i].get();
    (i == 0 ? w0 : w1).runSync([raw] {
      ASSERT_EQ(raw->b->got.size(), static_cast<size_t>(kMessages));
      for (int m = 0; m < kMessages; ++m) EXPECT_EQ(raw->b->got[m], "m" + std::to_string(m));
      raw->a->sctp.reset();
      raw->b->sctp.reset();
    });
    EXPECT_EQ(raw->offThread, 0) << "a packet was handed out on another worker's thread";
    EXPECT_GT(raw->sent, 2 * kMessages / 7);  // losses happened, so timers had work
  }
  w0.stopAndJoin();
  w1.stopAndJoin();
}

}  // namespace
}  // namespace medrelay::media
