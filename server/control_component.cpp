#include "server/control_component.h"

#include <filesystem>
#include <memory>
#include <string_view>
#include <utility>

#include "common/logging.h"
#include "control/access_log_key.h"
#include "control/metrics/http_metrics.h"
#include "control/metrics/metered_store.h"

namespace medrelay::server {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<spdlog::logger> logger() {
  return log::get("control");
}

}  // namespace

ControlComponent::ControlComponent(App& app, HttpComponent& http)
    : app_(app), metrics_(std::make_unique<metrics::Metrics>()) {
  auto keys = ApiKeySet::fromHexHashes(app.config().api.keys_sha256);
  std::shared_ptr<ApiKeySet> key_set;
  if (keys.ok()) {
    key_set = std::make_shared<ApiKeySet>(std::move(keys.value()));
  } else {
    // Config validation rejects bad hashes first; if one slips through no key is accepted.
    MR_LOG_ERROR(logger(), "api.keys_sha256: {}; every API key will be refused",
                 keys.error().message);
  }
  control::api::RestApiOptions opts;
  opts.verify_api_key = [key_set](std::string_view key) {
    return key_set != nullptr && key_set->verify(key);
  };
  api_ = std::make_unique<control::api::RestApi>(http.router(), clock_, std::move(opts));

  metrics::Metrics* m = metrics_.get();
  http.router().add("GET", "/metrics", [m](net::http::Request&, net::http::Responder r) {
    r.send(net::http::Response::text(200, m->render(), metrics::Metrics::kContentType));
  });
  http.setRequestObserver([m](const std::string& route, int status, double seconds) {
    m->http().record(route, status, seconds);
  });
  // Route labels come from the RouteTable itself, so a new route cannot fall into "other".
  http.setRoutesObserver(
      [m](const net::http::RouteTable& router) { m->http().declareRoutes(router.routes()); });
  http.setCertificateObserver([m](const std::string& cert_file) {
    if (auto not_after = metrics::certificateNotAfter(cert_file)) {
      m->server().setCertificateExpiry(*not_after);
    } else {
      MR_LOG_WARN(logger(), "cannot read the expiry of {}", cert_file);
    }
  });
  // Scrape-time values (the /metrics route runs on the control thread, like the store).
  HttpComponent* h = &http;
  m->addScrapeHook([this, m, h] {
    m->server().setReady(h->ready());
    const Config& cfg = app_.config();
    m->server().updateFilesystem(metrics::DataDir::kData, cfg.storage.data_dir);
    if (log_ != nullptr) {
      m->server().updateFilesystem(metrics::DataDir::kAccessLog, log_->dir().string());
      const control::AccessLogStats st = log_->stats();
      metrics::AccessLogMetrics::Totals totals;
      totals.records = st.records;
      totals.bytes = st.bytes;
      totals.errors[metrics::AccessLogError::kWrite] = st.write_errors;
      totals.errors[metrics::AccessLogError::kFsync] = st.fsync_errors;
      totals.errors[metrics::AccessLogError::kOpen] = st.open_errors;
      totals.errors[metrics::AccessLogError::kRotate] = st.rotate_errors;
      totals.unhealthy = log_->unhealthy();
      m->accessLog().sync(totals);
    }
    if (metered_store_ != nullptr) updateRoomGauges();
    if (webhooks_ != nullptr) {
      const control::WebhookStats st = webhooks_->stats();
      m->webhooks().sync({st.dead_letters, st.delivered, st.failures, st.lag_records, st.pending});
    }
  });
  http.addReadinessCheck("access_log", [this](std::string& why) {
    if (log_ == nullptr) {
      why = "not open";
      return false;
    }
    if (log_->unhealthy()) {
      why = "writes failing";
      return false;
    }
    return true;
  });
  http.addReadinessCheck("store", [this](std::string& why) {
    if (metered_store_ == nullptr) {
      why = "not open";
      return false;
    }
    if (auto r = metered_store_->room("readyz-probe"); !r.ok()) {
      why = r.error().message;
      return false;
    }
    return true;
  });
}

ControlComponent::~ControlComponent() {
  stop();
}

Result<void> ControlComponent::start() {
  const Config& cfg = app_.config();
  const fs::path data_dir = cfg.storage.data_dir;

  // The invite-token pepper: 32 random bytes, 0600, made once; issued tokens depend on it.
  auto pepper_key = control::loadOrCreateKeyFile(data_dir / kTokenPepperFile);
  if (!pepper_key.ok()) return pepper_key.error();

  control::AccessLogOptions log_opts;
  log_opts.dir =
      cfg.access_log.dir.empty() ? data_dir / "access-log" : fs::path(cfg.access_log.dir);
  log_opts.node_id = cfg.node.id;
  log_opts.key_file = data_dir / kAccessLogKeyFile;
  log_opts.rotate_bytes = cfg.access_log.rotate_bytes;
  log_opts.rotate_daily = cfg.access_log.rotate_daily;
  log_opts.retention_days = static_cast<int>(cfg.access_log.retention_days);
  metrics::Metrics* m = metrics_.get();
  log_opts.on_append = [m](const control::AccessRecord& r) {
    m->policy().onAccessRecord(control::toString(r.event), r.role, r.reason);
  };
  log_opts.on_fdatasync = [m](double seconds) { m->accessLog().fsynced(seconds); };
  log_opts.on_durable = [slot = durable_slot_](uint64_t seq) {
    std::lock_guard lock(slot->mutex);
    if (slot->sender != nullptr) slot->sender->notifyDurable(seq);
  };
  auto log = control::AccessLog::open(std::move(log_opts), &app_.control());
  if (!log.ok()) return log.error();
  log_ = std::move(log.value());

  auto store = control::SqliteStore::open(data_dir / kStoreFile);
  if (!store.ok()) {
    metrics_->store().error(metrics::StoreError::kOpen);
    return store.error();
  }
  store_ = std::move(store.value());
  metered_store_ = std::make_unique<metrics::MeteredStore>(*store_, metrics_->store());

  control::ConsultationServiceOptions service_opts;
  service_opts.token_pepper = pepper_key->bytes;
  service_ = std::make_unique<control::ConsultationService>(app_.control(), *metered_store_, *log_,
                                                            clock_, service_opts);
  if (auto r = service_->start(); !r.ok()) return r.error();
  api_->attach(service_.get(), log_.get());
  if (auto r = startWebhooks(); !r.ok()) return r.error();
  // The clock's synchronisation state: a clock_sync record now, hourly and on every change
  // (docs/access-log.md "Time").
  control::ClockSyncOptions clock_opts;
  clock_opts.on_state = [m = metrics_.get()](const control::ClockSyncState& s, uint64_t losses) {
    m->clock().update(s.synced, static_cast<double>(s.est_error_us) / 1e6, losses);
  };
  clock_sync_ = std::make_unique<control::ClockSyncMonitor>(app_.control(), *log_, clock_opts);
  clock_sync_->start();

  control_monitor_ = std::make_unique<metrics::LoopMonitor>(app_.control(), *metrics_, "control");
  auto& workers = app_.workers();
  worker_monitors_.resize(workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    workers.runSync(i, [this, i, &workers] {
      worker_monitors_[i] =
          std::make_unique<metrics::LoopMonitor>(workers.worker(i), *metrics_, std::to_string(i));
    });
  }
  workers_monitored_ = true;
  MR_LOG_INFO(logger(), "control plane started: store {}, access log {}",
              (data_dir / kStoreFile).string(), log_->dir().string());
  return {};
}

Result<void> ControlComponent::startWebhooks() {
  const Config& cfg = app_.config();
  if (cfg.webhooks.urls.empty()) return {};
  control::WebhookOptions opts;
  for (size_t i = 0; i < cfg.webhooks.urls.size() && i < cfg.webhooks.secret_files.size(); ++i) {
    opts.endpoints.push_back({cfg.webhooks.urls[i], cfg.webhooks.secret_files[i]});
  }
  opts.outbox = fs::path(cfg.storage.data_dir) / kWebhookOutboxFile;
  opts.log_dir = log_->dir();
  for (const auto& e : cfg.webhooks.events) {
    if (auto ev = control::parseAccessEvent(e)) opts.events.insert(*ev);
  }
  opts.format =
      control::parseWebhookFormat(cfg.webhooks.format).value_or(control::WebhookFormat::kJson);
  opts.ca_file = cfg.webhooks.ca_file;
  opts.max_attempts = cfg.webhooks.max_attempts;
  opts.backoff_initial_ms = cfg.webhooks.backoff_initial_ms;
  opts.backoff_max_ms = cfg.webhooks.backoff_max_ms;
  opts.timeout_ms = cfg.webhooks.timeout_ms;
  auto sender = control::WebhookSender::start(std::move(opts), app_.control(), log_->durableSeq());
  if (!sender.ok()) return sender.error();
  webhooks_ = std::move(sender.value());
  {
    std::lock_guard lock(durable_slot_->mutex);
    durable_slot_->sender = webhooks_.get();
  }
  // Records made durable before the slot was filled: this call covers them.
  webhooks_->notifyDurable(log_->durableSeq());
  api_->attachWebhooks(webhooks_.get());
  MR_LOG_INFO(logger(), "webhooks: {} endpoint(s), outbox {}", cfg.webhooks.urls.size(),
              (fs::path(cfg.storage.data_dir) / kWebhookOutboxFile).string());
  return {};
}

void ControlComponent::updateRoomGauges() {
  // Counted by paging through the store per state: fine for the thousands of rooms one node
  // holds; a store with a count query would replace this.
  const int64_t now_us = clock_.nowUs();
  for (size_t i = 0; i + 1 < metrics::labelCount<metrics::RoomState>(); ++i) {
    const auto label = metrics::LabelTraits<metrics::RoomState>::kValues[i];
    auto state = control::parseRoomState(label);
    if (!state) continue;
    control::RoomFilter filter;
    filter.state = *state;
    filter.limit = 500;
    size_t count = 0;
    for (int page = 0; page < 1000; ++page) {
      auto r = metered_store_->listRooms(filter, now_us);
      if (!r.ok()) return;  // counted as a store error; the gauges keep their last values
      count += r->rooms.size();
      if (r->next_cursor.empty()) break;
      filter.cursor = r->next_cursor;
    }
    metrics_->policy().setRooms(static_cast<metrics::RoomState>(i), static_cast<double>(count));
  }
}

void ControlComponent::drain(std::chrono::milliseconds grace, std::function<void()> done) {
  (void)grace;
  if (service_ == nullptr) {
    done();
    return;
  }
  // Every live session ends with a durable server-shutdown record before the process exits.
  service_->endAllSessions("server-shutdown", [done = std::move(done)](Result<void> r) {
    if (!r.ok()) {
      MR_LOG_ERROR(logger(), "ending the live sessions at shutdown: {}", r.error().message);
    }
    done();
  });
}

void ControlComponent::stop() {
  if (api_) api_->detach();
  if (workers_monitored_) {
    // Each monitor goes on its own loop's thread, as it was made.
    auto& workers = app_.workers();
    for (size_t i = 0; i < worker_monitors_.size(); ++i) {
      workers.runSync(i, [this, i] { worker_monitors_[i].reset(); });
    }
    workers_monitored_ = false;
  }
  worker_monitors_.clear();
  control_monitor_.reset();
  {
    std::lock_guard lock(durable_slot_->mutex);
    durable_slot_->sender = nullptr;
  }
  clock_sync_.reset();
  webhooks_.reset();  // undelivered messages stay in the outbox for the next start
  service_.reset();
  metered_store_.reset();
  store_.reset();
  log_.reset();  // writes what is queued
}

}  // namespace medrelay::server
