#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/family.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/counters/label_set.h"
#include "common/counters/local_counter.h"

// Building blocks shared by the components: resolving every child of a closed label set at
// registration, and turning single-writer worker counters into MetricFamily samples at scrape.
namespace medrelay::metrics {

using SampleLabels = std::vector<prometheus::ClientMetric::Label>;

// Adds one child per value of E (plus the fixed `base` labels) to a prometheus-cpp family and
// returns them indexed by E. Extra args go to Family::Add (histogram buckets).
template <typename E, typename M, typename... Args>
ByLabel<E, M*> resolveAll(prometheus::Family<M>& family, const prometheus::Labels& base,
                          const Args&... args) {
  ByLabel<E, M*> out;
  for (size_t i = 0; i < out.size(); ++i) {
    prometheus::Labels labels = base;
    labels.emplace(std::string(labelName<E>()), std::string(LabelTraits<E>::kValues[i]));
    out.at(i) = &family.Add(labels, args...);
  }
  return out;
}

prometheus::MetricFamily makeFamily(std::string name, std::string help,
                                    prometheus::MetricType type);

// Appends a counter or gauge sample (by the family's type).
void addSample(prometheus::MetricFamily& family, SampleLabels labels, double value);

// One sample per label value of E, each with `base` + {labelName<E>(), value}.
template <typename E, typename T>
void addByLabel(prometheus::MetricFamily& family, const SampleLabels& base,
                const ByLabel<E, T>& children) {
  for (size_t i = 0; i < children.size(); ++i) {
    SampleLabels labels = base;
    labels.push_back({std::string(labelName<E>()), std::string(LabelTraits<E>::kValues[i])});
    if constexpr (requires { children.at(i).value(); }) {
      addSample(family, std::move(labels), static_cast<double>(children.at(i).value()));
    } else {
      addByLabel(family, labels, children.at(i));  // a nested ByLabel: the next label
    }
  }
}

// One family filled from every worker's field `get(worker)` (a LocalCounter/LocalGauge or a
// ByLabel of them), each sample labelled worker=<name> plus the field's own labels.
template <typename W, typename Get>
void addPerWorker(std::vector<prometheus::MetricFamily>& out, const std::vector<const W*>& workers,
                  const char* name, prometheus::MetricType type, const char* help, Get get) {
  auto family = makeFamily(name, help, type);
  for (const W* w : workers) {
    SampleLabels base{{"worker", w->name}};
    const auto& field = get(*w);
    if constexpr (requires { field.value(); }) {
      addSample(family, base, static_cast<double>(field.value()));
    } else {
      addByLabel(family, base, field);
    }
  }
  out.push_back(std::move(family));
}

// Sum of several LocalHistograms with the same bounds (workers), ready to serialise.
struct HistogramTotals {
  template <size_t N>
  explicit HistogramTotals(const std::array<uint64_t, N>& bounds_ns)
      : upper_ns(bounds_ns.begin(), bounds_ns.end()), counts(N + 1, 0) {}

  template <size_t N>
  void add(const LocalHistogram<N>& h) {
    if (N != upper_ns.size()) return;  // different bounds: never summed
    for (size_t i = 0; i <= N; ++i) counts[i] += h.bucket(i);
    sum_ns += h.sumNs();
  }

  std::vector<uint64_t> upper_ns;
  std::vector<uint64_t> counts;  // per bucket, not cumulative; last = above the last bound
  uint64_t sum_ns = 0;
};

// Appends a histogram sample in seconds (cumulative buckets, +Inf equals the count).
void addHistogram(prometheus::MetricFamily& family, SampleLabels labels,
                  const HistogramTotals& totals);

}  // namespace medrelay::metrics
