#include "net/worker_pool.h"

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

namespace medrelay::net {
namespace {

using std::chrono::milliseconds;

TEST(WorkerPoolTest, ZeroMeansOneWorkerPerCore) {
  WorkerPool pool(0);
  EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(WorkerPoolTest, PostToRunsOnThatWorkersOwnThread) {
  WorkerPool pool(3);
  ASSERT_EQ(pool.size(), 3u);
  std::vector<std::thread::id> ids(3);
  for (size_t i = 0; i < 3; ++i) {
    std::promise<void> done;
    pool.postTo(i, [&, i] {
      ids[i] = std::this_thread::get_id();
      EXPECT_TRUE(pool.worker(i).isLoopThread());
      done.set_value();
    });
    done.get_future().wait();
  }
  std::set<std::thread::id> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), 3u);
  EXPECT_EQ(distinct.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(pool.worker(2).name(), "worker-2");
}

TEST(WorkerPoolTest, HealthReportsABlockedWorkerAndRecovers) {
  WorkerPool pool(2);
  for (size_t i = 0; i < pool.size(); ++i) pool.runSync(i, [] {});
  EXPECT_TRUE(pool.health(milliseconds(50)).ok);

  std::promise<void> release;
  auto released = release.get_future().share();
  pool.postTo(1, [released] { released.wait(); });
  pool.ping();
  pool.runSync(0, [] {});  // worker 0 answers its ping
  std::this_thread::sleep_for(milliseconds(120));
  auto h = pool.health(milliseconds(50));
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.stuck, std::vector<size_t>{1});
  // A generous deadline tolerates the same delay.
  EXPECT_TRUE(pool.health(milliseconds(60000)).ok);

  // Pinging again does not queue more pings behind the blocked one.
  pool.ping();
  release.set_value();
  pool.runSync(1, [] {});
  EXPECT_TRUE(pool.health(milliseconds(50)).ok);
  pool.ping();
  pool.runSync(0, [] {});
  pool.runSync(1, [] {});
  EXPECT_TRUE(pool.health(milliseconds(0)).ok);
}

TEST(WorkerPoolTest, StoppedWorkersFailTheHealthCheck) {
  WorkerPool pool(1);
  pool.runSync(0, [] {});
  pool.stop();
  pool.stop();  // idempotent
  pool.ping();
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(pool.health(milliseconds(5)).ok);
}

}  // namespace
}  // namespace medrelay::net
