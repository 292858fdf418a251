#include "control/metrics/webhook_metrics.h"

namespace medrelay::metrics {
namespace {

void raiseTo(prometheus::Counter& counter, uint64_t total) {
  const auto target = static_cast<double>(total);
  if (target > counter.Value()) counter.Increment(target - counter.Value());
}

}  // namespace

WebhookMetrics::WebhookMetrics(prometheus::Registry& registry) {
  deadLetters_ = &prometheus::BuildCounter()
                      .Name("medrelay_webhook_dead_letters_total")
                      .Help("Webhook deliveries given up after webhooks.max_attempts.")
                      .Register(registry)
                      .Add({});
  delivered_ = &prometheus::BuildCounter()
                    .Name("medrelay_webhook_deliveries_total")
                    .Help("Webhook deliveries answered 2xx.")
                    .Register(registry)
                    .Add({});
  failures_ = &prometheus::BuildCounter()
                   .Name("medrelay_webhook_failures_total")
                   .Help("Webhook attempts that failed (transport error or non-2xx answer).")
                   .Register(registry)
                   .Add({});
  lag_ = &prometheus::BuildGauge()
              .Name("medrelay_webhook_lag_records")
              .Help("Access-log records not yet delivered to the slowest webhook endpoint.")
              .Register(registry)
              .Add({});
  pending_ = &prometheus::BuildGauge()
                  .Name("medrelay_webhook_pending")
                  .Help("Webhook deliveries waiting to be sent or retried.")
                  .Register(registry)
                  .Add({});
}

void WebhookMetrics::sync(const Totals& totals) {
  raiseTo(*deadLetters_, totals.dead_letters);
  raiseTo(*delivered_, totals.delivered);
  raiseTo(*failures_, totals.failures);
  lag_->Set(static_cast<double>(totals.lag_records));
  pending_->Set(static_cast<double>(totals.pending));
}

}  // namespace medrelay::metrics
