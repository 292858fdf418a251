#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/access_log.h"
#include "control/api/rest_api.h"
#include "control/clock.h"
#include "control/clock_sync.h"
#include "control/consultation_service.h"
#include "control/metrics/loop_monitor.h"
#include "control/metrics/metered_store.h"
#include "control/metrics/metrics.h"
#include "control/sqlite_store.h"
#include "control/webhook_sender.h"
#include "server/api_key.h"
#include "server/app.h"
#include "server/bootstrap.h"
#include "server/http_component.h"

namespace medrelay::server {

inline constexpr const char* kTokenPepperFile = "invite-token.pepper";
inline constexpr const char* kAccessLogKeyFile = "access-log.key";
inline constexpr const char* kStoreFile = "medrelay.db";
inline constexpr const char* kWebhookOutboxFile = "webhooks.db";

// The consultation control plane as an App component: the access log (<access_log.dir>, key in
// <data_dir>/access-log.key), the SQLite store (<data_dir>/medrelay.db), the invite-token pepper
// (<data_dir>/invite-token.pepper, 0600, created at first start), the ConsultationService with
// its window timer, the REST API routes, /metrics and the /readyz checks. Drain ends every live
// session with a durable server-shutdown record.
//
// Add it before the HttpComponent it registers on, so the HTTP front door drains first and the
// service is running before the first request.
class ControlComponent : public App::Component {
 public:
  ControlComponent(App& app, HttpComponent& http);
  ~ControlComponent() override;

  // Valid after start() (the media component calls authorizeJoin/sessionStarted/sessionEnded
  // and setTerminator on it).
  control::ConsultationService& service() { return *service_; }
  bool running() const { return service_ != nullptr; }
  metrics::Metrics& metrics() { return *metrics_; }

  std::string name() const override { return "control"; }
  Result<void> start() override;
  void drain(std::chrono::milliseconds grace, std::function<void()> done) override;
  void stop() override;

 private:
  void updateRoomGauges();
  Result<void> startWebhooks();

  // The access-log writer thread tells the webhook sender about durable records through this
  // slot; stop() empties it before the sender goes.
  struct DurableSlot {
    std::mutex mutex;
    control::WebhookSender* sender = nullptr;
  };

  App& app_;
  std::unique_ptr<metrics::Metrics> metrics_;
  control::SystemClock clock_;
  std::unique_ptr<control::api::RestApi> api_;
  std::unique_ptr<control::AccessLog> log_;
  std::unique_ptr<control::SqliteStore> store_;
  std::unique_ptr<metrics::MeteredStore> metered_store_;
  std::unique_ptr<control::ConsultationService> service_;
  std::shared_ptr<DurableSlot> durable_slot_ = std::make_shared<DurableSlot>();
  std::unique_ptr<control::WebhookSender> webhooks_;
  std::unique_ptr<control::ClockSyncMonitor> clock_sync_;
  std::unique_ptr<metrics::LoopMonitor> control_monitor_;
  std::vector<std::unique_ptr<metrics::LoopMonitor>> worker_monitors_;
  bool workers_monitored_ = false;
};

}  // namespace medrelay::server
