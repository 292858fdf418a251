// GET /v1/webhooks/deliveries and POST /v1/webhooks/deliveries/{id}/replay (docs/access-log.md
// "Webhooks"): both run on the webhook sender's thread, which owns the outbox, and answer from
// its callback on the control loop.
#include <charconv>

#include "control/api/rest_api.h"
#include "control/api/rest_util.h"
#include "control/webhook_sender.h"

namespace medrelay::control::api {

using namespace rest;  // NOLINT

namespace {

std::optional<int64_t> parseId(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

void RestApi::webhookDeliveries(Call& call) {
  if (!authenticate(call, false)) return;
  DeliveryQuery q;
  if (auto since = call.req.query("since")) {
    auto us = parseRfc3339(*since);
    if (!us) {
      return refuse(call, "list_webhook_deliveries",
                    makeError("invalid_field", "since: not RFC 3339"));
    }
    q.since_us = *us;
  }
  if (auto after = call.req.query("after")) {
    auto id = parseId(*after);
    if (!id) {
      return refuse(call, "list_webhook_deliveries",
                    makeError("invalid_field", "after: not a delivery id"));
    }
    q.after_id = *id;
  }
  if (auto state = call.req.query("state")) {
    q.state = parseDeliveryState(*state);
    if (!q.state) {
      return refuse(call, "list_webhook_deliveries",
                    makeError("invalid_field", "state: one of pending|delivered|dead"));
    }
  }
  if (auto limit = call.req.query("limit")) {
    auto n = parseId(*limit);
    if (!n || *n == 0 || *n > static_cast<int64_t>(options_.max_log_page)) {
      return refuse(
          call, "list_webhook_deliveries",
          makeError("invalid_field", "limit: 1.." + std::to_string(options_.max_log_page)));
    }
    q.limit = static_cast<size_t>(*n);
  }
  if (webhooks_ == nullptr) {
    return call.res.send(
        jsonResponse(200, {{"deliveries", nlohmann::json::array()}, {"next_after", nullptr}}));
  }
  Responder res = call.res;
  webhooks_->listDeliveries(q, [res](Result<nlohmann::json> r) mutable {
    res.send(r ? jsonResponse(200, r.value()) : errorResponse(r.error()));
  });
}

void RestApi::replayWebhookDelivery(Call& call) {
  if (!authenticate(call, false)) return;
  auto id = parseId(call.req.param("id"));
  if (!id || webhooks_ == nullptr) {
    return call.res.send(errorResponse(makeError(
        "delivery_not_found", "no webhook delivery " + std::string(call.req.param("id")))));
  }
  Responder res = call.res;
  webhooks_->replay(*id, [res](Result<nlohmann::json> r) mutable {
    res.send(r ? jsonResponse(202, r.value()) : errorResponse(r.error()));
  });
}

}  // namespace medrelay::control::api
