#include "control/metrics/access_log_metrics.h"

#include <prometheus/gauge.h>

#include "control/metrics/buckets.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {

AccessLogMetrics::AccessLogMetrics(prometheus::Registry& registry) {
  bytes_ = &prometheus::BuildCounter()
                .Name("medrelay_access_log_bytes_total")
                .Help("Bytes appended to the access log.")
                .Register(registry)
                .Add({});
  fsync_duration_ = &prometheus::BuildHistogram()
                         .Name("medrelay_access_log_fsync_duration_seconds")
                         .Help("fdatasync latency of access-log group commits.")
                         .Register(registry)
                         .Add({}, buckets::kFsyncSeconds);
  records_ = &prometheus::BuildCounter()
                  .Name("medrelay_access_log_records_total")
                  .Help("Access-log records appended.")
                  .Register(registry)
                  .Add({});
  unhealthy_ = &prometheus::BuildGauge()
                    .Name("medrelay_access_log_unhealthy")
                    .Help("1 while access-log writes fail (new joins are refused), else 0.")
                    .Register(registry)
                    .Add({});
  write_errors_ = resolveAll<AccessLogError>(prometheus::BuildCounter()
                                                 .Name("medrelay_access_log_write_errors_total")
                                                 .Help("Access-log I/O errors, by kind.")
                                                 .Register(registry),
                                             {});
}

namespace {

void raiseTo(prometheus::Counter& counter, uint64_t total) {
  const double target = static_cast<double>(total);
  if (target > counter.Value()) counter.Increment(target - counter.Value());
}

}  // namespace

void AccessLogMetrics::sync(const Totals& totals) {
  raiseTo(*records_, totals.records);
  raiseTo(*bytes_, totals.bytes);
  for (size_t i = 0; i < write_errors_.size(); ++i)
    raiseTo(*write_errors_.at(i), totals.errors.at(i));
  unhealthy_->Set(totals.unhealthy ? 1 : 0);
}

}  // namespace medrelay::metrics
