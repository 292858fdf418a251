#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>

namespace medrelay::metrics {

// The webhook sender (docs/access-log.md "Webhooks"). It keeps its own atomic totals
// (WebhookSender::stats()); the server copies them in at scrape time with sync().
class WebhookMetrics {
 public:
  struct Totals {
    uint64_t dead_letters = 0;
    uint64_t delivered = 0;
    uint64_t failures = 0;
    uint64_t lag_records = 0;
    uint64_t pending = 0;
  };

  explicit WebhookMetrics(prometheus::Registry& registry);
  void sync(const Totals& totals);

 private:
  // Sorted by family name.
  prometheus::Counter* deadLetters_;  // medrelay_webhook_dead_letters_total
  prometheus::Counter* delivered_;    // medrelay_webhook_deliveries_total
  prometheus::Counter* failures_;     // medrelay_webhook_failures_total
  prometheus::Gauge* lag_;            // medrelay_webhook_lag_records
  prometheus::Gauge* pending_;        // medrelay_webhook_pending
};

}  // namespace medrelay::metrics
