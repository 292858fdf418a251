#include "server/app.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <mutex>
#include <thread>

namespace medrelay::server {
namespace {

using std::chrono::milliseconds;

// Records every call; drains immediately, after a delay, or never.
class FakeComponent : public App::Component {
 public:
  enum class Drain { kNow, kNever, kFromOtherThread };
  FakeComponent(std::string name, std::vector<std::string>& events, std::mutex& mu,
                Drain drain = Drain::kNow)
      : name_(std::move(name)), events_(events), mu_(mu), drain_(drain) {}
  ~FakeComponent() override {
    if (drainer_.joinable()) drainer_.join();
  }

  std::string name() const override { return name_; }
  Result<void> start() override {
    record("start");
    if (fail_start) return makeError("bind", "address in use");
    if (on_start) on_start();
    return {};
  }
  void drain(milliseconds grace, std::function<void()> done) override {
    record("drain");
    grace_seen = grace;
    if (drain_ == Drain::kNow) done();
    if (drain_ == Drain::kFromOtherThread) {
      drainer_ = std::thread([done] {
        std::this_thread::sleep_for(milliseconds(20));
        done();
        done();  // a second call is ignored
      });
    }
  }
  void stop() override { record("stop"); }
  Result<void> reload() override {
    record("reload");
    if (fail_reload) return makeError("tls", "bad certificate");
    return {};
  }

  bool fail_start = false;
  bool fail_reload = false;
  std::function<void()> on_start;
  milliseconds grace_seen{-1};

 private:
  void record(const std::string& what) {
    std::lock_guard lock(mu_);
    events_.push_back(name_ + "." + what);
  }
  std::string name_;
  std::vector<std::string>& events_;
  std::mutex& mu_;
  Drain drain_;
  std::thread drainer_;
};

class AppTest : public ::testing::Test {
 protected:
  AppTest() {
    config_ = Config::defaults();
    config_.media.workers = 2;
    config_.shutdown.grace_ms = 5000;
  }
  FakeComponent* add(App& app, const std::string& name,
                     FakeComponent::Drain drain = FakeComponent::Drain::kNow) {
    auto c = std::make_unique<FakeComponent>(name, events_, mu_, drain);
    auto* raw = c.get();
    app.addComponent(std::move(c));
    return raw;
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  Config config_;
  std::vector<std::string> events_;
  std::mutex mu_;
};

TEST_F(AppTest, StartsInOrderDrainsAndStopsInReverseAndExitsZero) {
  App app(config_);
  auto* http = add(app, "b", FakeComponent::Drain::kFromOtherThread);
  add(app, "a");
  std::promise<void> started;
  http->on_start = [&] { started.set_value(); };
  std::thread t([&] {
    started.get_future().wait();
    app.requestShutdown();
    app.requestShutdown();  // repeated requests are harmless
  });
  EXPECT_EQ(app.run(), 0);
  t.join();
  EXPECT_EQ(events(), (std::vector<std::string>{"b.start", "a.start", "a.drain", "b.drain",
                                                "a.stop", "b.stop"}));
  EXPECT_EQ(http->grace_seen, milliseconds(5000));
  EXPECT_TRUE(app.draining());
  EXPECT_FALSE(app.ready());
}

TEST_F(AppTest, GraceExpiryStopsComponentsThatNeverFinishDraining) {
  config_.shutdown.grace_ms = 100;
  App app(config_);
  add(app, "stuck", FakeComponent::Drain::kNever);
  app.requestShutdown();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(app.run(), 0);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, milliseconds(90));
  EXPECT_EQ(events(), (std::vector<std::string>{"stuck.start", "stuck.drain", "stuck.stop"}));
}

TEST_F(AppTest, StartFailureStopsEarlierComponentsAndSkipsLaterOnes) {
  App app(config_);
  add(app, "a");
  add(app, "b")->fail_start = true;
  add(app, "c");
  EXPECT_EQ(app.run(), 1);
  EXPECT_EQ(events(), (std::vector<std::string>{"a.start", "b.start", "a.stop"}));
}

TEST_F(AppTest, ReloadCallsEveryComponentAndCountsFailures) {
  App app(config_);
  add(app, "a");
  add(app, "b")->fail_reload = true;
  app.requestReload();
  app.requestShutdown();
  EXPECT_EQ(app.run(), 0);
  auto e = events();
  EXPECT_EQ(std::count(e.begin(), e.end(), "a.reload"), 1);
  EXPECT_EQ(std::count(e.begin(), e.end(), "b.reload"), 1);
  EXPECT_EQ(app.reloadStats().ok, 1u);
  EXPECT_EQ(app.reloadStats().failed, 1u);
}

// The real signal path: libuv's signal handles on the control loop.
TEST_F(AppTest, SighupReloadsAndSigtermDrainsAndASecondSigtermForcesExit) {
  App app(config_);
  auto* c = add(app, "a", FakeComponent::Drain::kNever);
  std::promise<void> started;
  c->on_start = [&] { started.set_value(); };
  std::atomic<int> forced{0};
  app.setForcedExit([&] {
    ++forced;
    app.control().post([&] { app.control().stop(); });  // stand-in for _exit
  });
  std::thread t([&] {
    started.get_future().wait();
    // ready() turns true once the loop runs and the workers answered.
    for (int i = 0; i < 200 && !app.ready(); ++i) std::this_thread::sleep_for(milliseconds(5));
    EXPECT_TRUE(app.ready());
    ::kill(::getpid(), SIGHUP);
    for (int i = 0; i < 200 && app.reloadStats().ok == 0; ++i) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ::kill(::getpid(), SIGTERM);
    for (int i = 0; i < 200 && !app.draining(); ++i) std::this_thread::sleep_for(milliseconds(5));
    ::kill(::getpid(), SIGTERM);
  });
  EXPECT_EQ(app.run(), 0);
  t.join();
  EXPECT_EQ(forced.load(), 1);
  EXPECT_EQ(app.reloadStats().ok, 1u);
  auto e = events();
  EXPECT_EQ(std::count(e.begin(), e.end(), "a.drain"), 1);
}

TEST_F(AppTest, NotReadyWhenAWorkerIsBlocked) {
  config_.media.workers = 1;
  App app(config_);
  std::promise<void> release;
  auto released = release.get_future().share();
  auto waitFor = [](const std::function<bool()>& cond) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!cond() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return cond();
  };
  std::thread t([&] {
    EXPECT_TRUE(waitFor([&] { return app.ready(); }));
    app.workers().postTo(0, [released] { released.wait(); });
    // The App's ping timer (every 500 ms) posts a ping behind the blocked task; a ping already
    // in flight ahead of it may still be answered, so detection takes up to interval + deadline.
    EXPECT_TRUE(waitFor([&] { return !app.ready(milliseconds(50)); }));
    release.set_value();
    EXPECT_TRUE(waitFor([&] { return app.ready(milliseconds(50)); }));
    app.requestShutdown();
  });
  EXPECT_EQ(app.run(), 0);
  t.join();
}

}  // namespace
}  // namespace medrelay::server
