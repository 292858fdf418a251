#include "control/metrics/http_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include "control/metrics/buckets.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {

HttpMetrics::HttpMetrics(prometheus::Registry& registry) {
  auto& duration = prometheus::BuildHistogram()
                       .Name("medrelay_http_request_duration_seconds")
                       .Help("Time from the request head parsed to the response written.")
                       .Register(registry);
  auto& requests = prometheus::BuildCounter()
                       .Name("medrelay_http_requests_total")
                       .Help("HTTP requests answered, by route template and status class.")
                       .Register(registry);
  for (size_t i = 0; i < duration_.size(); ++i) {
    const auto route = static_cast<HttpRoute>(i);
    const prometheus::Labels labels{{"method", std::string(httpRouteMethod(route))},
                                    {"route", std::string(labelValue(route))}};
    duration_.at(i) = &duration.Add(labels, buckets::kHttpRequestSeconds);
    requests_.at(i) = resolveAll<StatusClass>(requests, labels);
  }
}

}  // namespace medrelay::metrics
