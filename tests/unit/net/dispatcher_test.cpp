#include "net/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace medrelay::net {
namespace {

TEST(DispatcherTest, PostFromOtherThreadsRunsOnLoopThreadInOrder) {
  DispatcherThread worker("w0");
  std::vector<int> seen;
  std::thread::id loop_id;
  worker.runSync([&] { loop_id = std::this_thread::get_id(); });
  ASSERT_NE(loop_id, std::this_thread::get_id());

  std::atomic<int> wrong_thread{0};
  std::thread producer([&] {
    for (int i = 0; i < 1000; ++i) {
      worker.dispatcher().post([&, i] {
        if (std::this_thread::get_id() != loop_id) ++wrong_thread;
        seen.push_back(i);
      });
    }
  });
  producer.join();
  worker.runSync([] {});
  EXPECT_EQ(wrong_thread.load(), 0);
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], i);
}

TEST(DispatcherTest, SeveralDispatchersInOneProcess) {
  DispatcherThread a("a");
  DispatcherThread b("b");
  std::atomic<int> hops{0};
  a.runSync([&] {
    EXPECT_TRUE(a.dispatcher().isLoopThread());
    EXPECT_FALSE(b.dispatcher().isLoopThread());
    b.dispatcher().post([&] { ++hops; });
  });
  b.runSync([] {});
  EXPECT_EQ(hops.load(), 1);
}

TEST(DispatcherTest, TimerFiresOnLoopAndStops) {
  Dispatcher d("t");
  int fired = 0;
  Timer timer(d, [&] {
    if (++fired == 3) d.stop();
  });
  timer.start(std::chrono::milliseconds(1), std::chrono::milliseconds(1));
  d.run();
  EXPECT_EQ(fired, 3);
  timer.stop();
  EXPECT_FALSE(timer.active());
}

TEST(DispatcherTest, DestroyWithOpenHandlesDoesNotLeakOrHang) {
  auto d = std::make_unique<Dispatcher>("x");
  auto timer = std::make_unique<Timer>(*d, [] {});
  timer->start(std::chrono::milliseconds(1000));
  timer.reset();  // owner goes first: the loop finishes the close in the destructor
  d.reset();
  SUCCEED();
}

}  // namespace
}  // namespace medrelay::net
