#include "control/metrics/exposition.h"

#include <limits>

namespace medrelay::metrics {

prometheus::MetricFamily makeFamily(std::string name, std::string help,
                                    prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void addSample(prometheus::MetricFamily& family, SampleLabels labels, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

void addHistogram(prometheus::MetricFamily& family, SampleLabels labels,
                  const HistogramTotals& totals) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < totals.upper_ns.size(); ++i) {
    cumulative += totals.counts[i];
    metric.histogram.bucket.push_back({cumulative, static_cast<double>(totals.upper_ns[i]) / 1e9});
  }
  cumulative += totals.counts.back();
  metric.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = static_cast<double>(totals.sum_ns) / 1e9;
  family.metric.push_back(std::move(metric));
}

}  // namespace medrelay::metrics
