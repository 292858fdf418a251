#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/sqlite_store.h"

namespace medrelay::control {

enum class DeliveryState : uint8_t { kPending, kDelivered, kDead };
std::string_view toString(DeliveryState state);
std::optional<DeliveryState> parseDeliveryState(std::string_view name);

// One message to one endpoint: an access-log record as the endpoint's format renders it.
struct WebhookDelivery {
  int64_t id = 0;
  std::string endpoint;  // the endpoint's URL
  uint64_t seq = 0;      // the access-log record's sequence number
  std::string event;
  std::string message_id;  // webhook-id: stable across retries and replays
  std::string body;
  DeliveryState state = DeliveryState::kPending;
  uint32_t attempts = 0;
  int64_t next_attempt_us = 0;
  int last_status = 0;  // HTTP status of the last attempt, 0 if none answered
  std::string last_error;
  int64_t created_us = 0;
  int64_t delivered_us = 0;
};

struct DeliveryQuery {
  int64_t after_id = 0;
  std::optional<int64_t> since_us;  // created at or after
  std::optional<DeliveryState> state;
  size_t limit = 100;
};

// The durable webhook outbox (docs/access-log.md "Webhooks"): a SQLite file of its own (WAL,
// synchronous=FULL) holding every delivery and, per endpoint, the last access-log sequence
// number turned into deliveries. New deliveries and the cursor move in one transaction, so a
// crash neither loses nor doubles a record. Used by one thread only (the webhook sender).
class WebhookOutbox {
 public:
  // Errors: webhook_outbox (cannot open or create the file).
  static Result<std::unique_ptr<WebhookOutbox>> open(const std::filesystem::path& path);
  explicit WebhookOutbox(SqliteDb db) : db_(std::move(db)) {}

  // The last sequence number enqueued for the endpoint (0 for a new one).
  Result<uint64_t> cursor(const std::string& endpoint);
  // Inserts the deliveries and moves the endpoint's cursor to `through_seq`, atomically.
  Result<void> enqueue(const std::string& endpoint, const std::vector<WebhookDelivery>& rows,
                       uint64_t through_seq);
  // The endpoint's pending delivery with the lowest seq (its head of line), if any.
  Result<std::optional<WebhookDelivery>> head(const std::string& endpoint);
  Result<void> markDelivered(int64_t id, int status, int64_t at_us);
  Result<void> markFailed(int64_t id, uint32_t attempts, int status, const std::string& error,
                          bool dead, int64_t next_attempt_us);
  Result<std::vector<WebhookDelivery>> list(const DeliveryQuery& query);
  // Makes a delivery pending again, due now, with its attempts reset. nullopt: no such id.
  Result<std::optional<WebhookDelivery>> replay(int64_t id, int64_t now_us);
  Result<uint64_t> pendingCount();

 private:
  Result<void> exec(const char* sql);
  Error error(const char* what) const;
  sqlite3_stmt* prepare(const char* sql);

  SqliteDb db_;
};

}  // namespace medrelay::control
