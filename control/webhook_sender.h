#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "control/access_log_record.h"
#include "control/webhook_outbox.h"
#include "control/webhook_payload.h"
#include "control/webhook_signature.h"

namespace medrelay::net {
class Dispatcher;
}

namespace medrelay::control {

struct WebhookEndpoint {
  std::string url;          // https://…
  std::string secret_file;  // whsec_ secrets, one per line (two while rotating)
};

struct WebhookOptions {
  std::vector<WebhookEndpoint> endpoints;
  std::filesystem::path outbox;   // the SQLite file
  std::filesystem::path log_dir;  // the access log the deliveries come from
  std::set<AccessEvent> events;   // empty: every event
  WebhookFormat format = WebhookFormat::kJson;
  std::string ca_file;  // PEM CA bundle for private CAs; empty: the system's
  uint32_t max_attempts = 10;
  uint32_t backoff_initial_ms = 1000;
  uint32_t backoff_max_ms = 300000;
  uint32_t timeout_ms = 10000;
  std::function<int64_t()> clock_us;  // UTC µs; default system_clock
};

struct WebhookStats {
  uint64_t delivered = 0;     // attempts answered 2xx
  uint64_t failures = 0;      // attempts that failed (transport error or non-2xx)
  uint64_t dead_letters = 0;  // deliveries given up after max_attempts
  uint64_t lag_records = 0;   // log records not yet delivered to the slowest endpoint
  uint64_t pending = 0;       // deliveries waiting (due or backing off)
};

// Delivers access-log records to HTTPS endpoints as Standard Webhooks (docs/access-log.md
// "Webhooks"). One thread of its own runs a libcurl multi handle and the outbox; nothing on the
// control loop or the media workers ever waits for it. Each endpoint gets one delivery in flight
// at a time, in seq order; a failed one is retried with exponential backoff and jitter and, after
// max_attempts, dead-lettered (the next one goes on). New records are picked up from the log
// itself, so a crash between the log's fdatasync and the outbox loses nothing.
class WebhookSender {
 public:
  using JsonCallback = std::function<void(Result<nlohmann::json>)>;

  // Opens the outbox and checks the secrets; the thread starts at once. `completions` is where
  // listDeliveries/replay callbacks run. Errors: webhook_outbox, invalid_secret, secret_unreadable.
  static Result<std::unique_ptr<WebhookSender>> start(WebhookOptions options,
                                                      net::Dispatcher& completions,
                                                      uint64_t durable_seq);
  WebhookSender(WebhookOptions options, net::Dispatcher& completions);
  ~WebhookSender();  // stops the thread; unsent deliveries stay in the outbox
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Any thread: records up to `seq` are durable in the log.
  void notifyDurable(uint64_t seq);
  // GET /v1/webhooks/deliveries: {"deliveries": [...], "next_after"}.
  void listDeliveries(DeliveryQuery query, JsonCallback done);
  // POST /v1/webhooks/deliveries/{id}/replay: the delivery, pending again. delivery_not_found.
  void replay(int64_t id, JsonCallback done);
  WebhookStats stats() const;

  static nlohmann::json toJson(const WebhookDelivery& delivery);

 private:
  struct Transfer;
  struct Endpoint {
    WebhookEndpoint config;
    std::vector<WebhookSecret> secrets;
    std::filesystem::file_time_type secrets_mtime{};
    uint64_t enqueued = 0;  // outbox cursor
    std::unique_ptr<Transfer> in_flight;
    int64_t wait_until_us = 0;  // head of line is backing off until then
  };

  void run();
  void ingest();
  void startDue(int64_t now_us, int64_t& wake_us);
  void startTransfer(Endpoint& ep, const WebhookDelivery& d);
  void finishTransfers();
  void refreshSecrets(Endpoint& ep);
  void updateLag();
  int64_t backoffUs(uint32_t attempts);
  void post(std::function<void()> fn);  // to the sender thread
  void wake();

  WebhookOptions options_;
  net::Dispatcher& completions_;
  std::unique_ptr<WebhookOutbox> outbox_;
  std::vector<Endpoint> endpoints_;
  void* multi_ = nullptr;  // CURLM*
  std::thread thread_;
  uint64_t rngState_;

  std::mutex mutex_;
  std::deque<std::function<void()>> commands_;
  bool stopping_ = false;

  std::atomic<uint64_t> durableSeq_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> deadLetters_{0};
  std::atomic<uint64_t> lag_{0};
  std::atomic<uint64_t> pending_{0};
};

}  // namespace medrelay::control
