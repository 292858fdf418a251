#include "control/metrics/access_log_metrics.h"

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
  write_errors_ = resolveAll<AccessLogError>(prometheus::BuildCounter()
                                                 .Name("medrelay_access_log_write_errors_total")
                                                 .Help("Access-log I/O errors, by kind.")
                                                 .Register(registry),
                                             {});
}

}  // namespace medrelay::metrics
