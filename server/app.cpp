#include "server/app.h"

#include <unistd.h>

#include <csignal>

#include "common/assert.h"
#include "common/logging.h"

namespace medrelay::server {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  return log::get("main");
}

}  // namespace

App::App(Config config)
    : config_(std::move(config)), control_("control"), workers_(config_.media.workers) {
  forced_exit_ = [] {
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    ::_exit(1);
  };
}

App::~App() {
  workers_.stop();
}

void App::addComponent(std::unique_ptr<Component> component) {
  MEDRELAY_ASSERT(!ran_, "components are attached before run()");
  components_.push_back(std::move(component));
}

bool App::installSignal(net::UvHandle<uv_signal_t>& handle, int signum) {
  uv_signal_init(control_.loop(), handle.get());
  handle.get()->data = this;
  int rc = uv_signal_start(
      handle.get(),
      [](uv_signal_t* h, int sig) {
        if (h->data != nullptr) static_cast<App*>(h->data)->onSignal(sig);
      },
      signum);
  if (rc != 0) {
    MR_LOG_ERROR(logger(), "cannot handle signal {}: {}", signum, uv_strerror(rc));
    return false;
  }
  // Signal handles must not keep the loop alive on their own.
  uv_unref(handle.handle());
  return true;
}

int App::run() {
  MEDRELAY_ASSERT(!ran_, "App::run() runs once");
  ran_ = true;
  // A peer closing a socket mid-write must be an EPIPE error, not a process kill.
  std::signal(SIGPIPE, SIG_IGN);
  if (!installSignal(sigterm_, SIGTERM) || !installSignal(sigint_, SIGINT) ||
      !installSignal(sighup_, SIGHUP)) {
    return 1;
  }

  for (size_t i = 0; i < components_.size(); ++i) {
    auto r = components_[i]->start();
    if (!r) {
      MR_LOG_ERROR(logger(), "{} failed to start: {}", components_[i]->name(), r.error().message);
      for (size_t j = i; j-- > 0;) components_[j]->stop();
      workers_.stop();
      return 1;
    }
    MR_LOG_DEBUG(logger(), "{} started", components_[i]->name());
  }
  drained_.assign(components_.size(), false);

  ping_timer_ = std::make_unique<net::Timer>(control_, [this] { workers_.ping(); });
  ping_timer_->start(kPingInterval, kPingInterval);
  running_ = true;
  MR_LOG_INFO(logger(), "medrelay started (pid {}): {} media worker(s), {} component(s)",
              ::getpid(), workers_.size(), components_.size());

  control_.run();
  running_ = false;
  return 0;
}

void App::requestShutdown() {
  control_.post([this] {
    if (!draining_) beginShutdown("shutdown requested");
  });
}

void App::requestReload() {
  control_.post([this] { reloadAll(); });
}

bool App::ready(std::chrono::milliseconds deadline) const {
  return running_.load() && !draining_.load() && workers_.health(deadline).ok;
}

void App::onSignal(int signum) {
  const char* name = signum == SIGTERM ? "SIGTERM" : signum == SIGINT ? "SIGINT" : "SIGHUP";
  if (signum == SIGHUP) {
    MR_LOG_INFO(logger(), "SIGHUP: reloading");
    reloadAll();
    return;
  }
  if (draining_) {
    MR_LOG_WARN(logger(), "second {} while draining: exiting now", name);
    forced_exit_();
    return;
  }
  beginShutdown(name);
}

void App::beginShutdown(const char* reason) {
  draining_ = true;
  auto grace = std::chrono::milliseconds(config_.shutdown.grace_ms);
  MR_LOG_INFO(logger(), "{}: draining {} component(s) within {} ms", reason, components_.size(),
              grace.count());
  pending_drains_ = components_.size();
  if (pending_drains_ == 0) {
    finishShutdown(false);
    return;
  }
  grace_timer_ = std::make_unique<net::Timer>(control_, [this] { finishShutdown(true); });
  grace_timer_->start(grace);
  // Reverse order: the front door (added last, e.g. HTTP) stops accepting first.
  for (size_t i = components_.size(); i-- > 0;) {
    components_[i]->drain(grace, [this, i] { control_.post([this, i] { onDrained(i); }); });
  }
}

void App::onDrained(size_t index) {
  if (finished_ || index >= drained_.size() || drained_[index]) return;
  drained_[index] = true;
  MR_LOG_DEBUG(logger(), "{} drained", components_[index]->name());
  if (--pending_drains_ == 0) finishShutdown(false);
}

void App::finishShutdown(bool grace_expired) {
  if (finished_) return;
  finished_ = true;
  if (grace_expired) {
    std::string left;
    for (size_t i = 0; i < components_.size(); ++i) {
      if (!drained_[i]) left += (left.empty() ? "" : ", ") + components_[i]->name();
    }
    MR_LOG_WARN(logger(), "shutdown grace of {} ms expired; closing what is left of: {}",
                config_.shutdown.grace_ms, left);
  }
  for (size_t i = components_.size(); i-- > 0;) components_[i]->stop();
  workers_.stop();
  grace_timer_.reset();
  ping_timer_.reset();
  sigterm_.reset();
  sigint_.reset();
  sighup_.reset();
  MR_LOG_INFO(logger(), "shutdown complete");
  control_.stop();
}

void App::reloadAll() {
  if (draining_) return;
  for (const auto& c : components_) {
    auto r = c->reload();
    if (r) {
      ++reloads_ok_;
      MR_LOG_INFO(logger(), "reload: {} ok", c->name());
    } else {
      ++reloads_failed_;
      MR_LOG_ERROR(logger(), "reload: {} failed, keeping the previous state: {}", c->name(),
                   r.error().message);
    }
  }
  if (components_.empty()) MR_LOG_INFO(logger(), "reload: nothing to reload");
}

}  // namespace medrelay::server
