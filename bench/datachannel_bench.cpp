// Data channels inside the relay, without sockets or DTLS: one chat message from a participant's
// SCTP stack to the relay's association for that participant, checked and relabelled
// (chat::rewrite), and sent on the relay's association of each of K receivers (K = 1: a 1:1 room,
// K = 2: 1:2) to their SCTP stacks — usrsctp on both ends of every hop, as in
// media::SctpAssociation. Compare items/s with RouterFanOut (bench/router_bench.cpp, RTP through
// the real router with SRTP and sendmmsg) in the same run for the ratio the issue asks for; the
// time per iteration is the latency of one message through the relay's side here.
//
// BM_SctpAssociationMemory: heap bytes per open association (an established pair, divided by 2),
// from mallinfo2 before and after opening 100 pairs.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "media/chat_envelope.h"
#include "media/sctp_association.h"

namespace medrelay::media {
namespace {

using Bytes = std::vector<uint8_t>;

// One end of an in-memory SCTP link: its association and the packets it sent.
struct End final : SctpAssociation::Callbacks {
  std::deque<Bytes> sent;
  std::unique_ptr<SctpAssociation> sctp;
  bool up = false;
  size_t received = 0;
  std::function<void(const uint8_t*, size_t)> onMessage;

  void onSctpSend(const uint8_t* d, size_t n) override { sent.emplace_back(d, d + n); }
  void onSctpConnected() override { up = true; }
  void onSctpClosed() override { up = false; }
  void onDataChannelOpen(const DataChannel&) override {}
  void onDataChannelMessage(const DataChannel&, bool, const uint8_t* d, size_t n) override {
    ++received;
    if (onMessage) onMessage(d, n);
  }
  void onDataChannelClosed(const DataChannel&) override {}
  void onDataChannelRefused(SctpAssociation::Refusal) override {}
};

struct Link {
  End a;
  End b;
  bool pump() {  // true if anything moved
    bool moved = false;
    while (!a.sent.empty() || !b.sent.empty()) {
      moved = true;
      if (!a.sent.empty()) {
        Bytes p = std::move(a.sent.front());
        a.sent.pop_front();
        b.sctp->receive(p.data(), p.size());
      }
      if (!b.sent.empty()) {
        Bytes p = std::move(b.sent.front());
        b.sent.pop_front();
        a.sctp->receive(p.data(), p.size());
      }
    }
    return moved;
  }
};

bool open(net::Dispatcher& d, Link& l) {
  SctpAssociation::Options o;
  l.a.sctp = SctpAssociation::create(d, l.a, o);
  l.b.sctp = SctpAssociation::create(d, l.b, o);
  if (!l.a.sctp || !l.b.sctp) return false;
  for (int i = 0; i < 1000 && !(l.a.up && l.b.up); ++i) {
    if (!l.pump()) {
      uv_run(d.loop(), UV_RUN_NOWAIT);
      uv_sleep(1);
    }
  }
  return l.a.up && l.b.up;
}

void BM_ChatRelay(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  net::Dispatcher dispatcher("bench");
  // from: the sender's stack (a) ↔ the relay (b); to[i]: the relay (a) ↔ a receiver (b).
  auto from = std::make_unique<Link>();
  std::vector<std::unique_ptr<Link>> to;
  if (!open(dispatcher, *from)) return state.SkipWithError("sctp did not come up");
  for (int i = 0; i < k; ++i) {
    to.push_back(std::make_unique<Link>());
    if (!open(dispatcher, *to.back())) return state.SkipWithError("sctp did not come up");
  }
  std::string envelope;
  from->b.onMessage = [&](const uint8_t* d, size_t n) {
    if (!chat::rewrite(std::string_view(reinterpret_cast<const char*>(d), n), "doctor", envelope)) {
      return;
    }
    for (auto& l : to) {
      (void)l->a.sctp->send(chat::kNegotiatedStream, false,
                            reinterpret_cast<const uint8_t*>(envelope.data()), envelope.size());
    }
  };
  const std::string message =
      R"({"type":"chat","id":"c-1","text":")" + std::string(120, 'x') + R"("})";
  const auto* bytes = reinterpret_cast<const uint8_t*>(message.data());
  size_t expected = 0;
  for (auto _ : state) {
    if (!from->a.sctp->send(chat::kNegotiatedStream, false, bytes, message.size())) {
      return state.SkipWithError("send failed");
    }
    ++expected;
    // Deliver until every receiver has it (SACKs included).
    for (bool moved = true; moved;) {
      moved = from->pump();
      for (auto& l : to) moved = l->pump() || moved;
    }
    for (auto& l : to) {
      if (l->b.received != expected) return state.SkipWithError("a receiver missed a message");
    }
    if ((expected & 63) == 0) uv_run(dispatcher.loop(), UV_RUN_NOWAIT);  // SCTP timers
  }
  // One message at a time: the real time per iteration is its latency through the relay's side.
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChatRelay)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_SctpAssociationMemory(benchmark::State& state) {
  constexpr int kPairs = 100;
  for (auto _ : state) {
    net::Dispatcher dispatcher("bench-mem");
    const size_t before = mallinfo2().uordblks;
    std::vector<std::unique_ptr<Link>> links;
    for (int i = 0; i < kPairs; ++i) {
      links.push_back(std::make_unique<Link>());
      if (!open(dispatcher, *links.back())) return state.SkipWithError("sctp did not come up");
    }
    const size_t after = mallinfo2().uordblks;
    state.counters["bytes_per_association"] = static_cast<double>(after - before) / (2.0 * kPairs);
  }
}
BENCHMARK(BM_SctpAssociationMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace medrelay::media
