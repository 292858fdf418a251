#include "control/metrics/http_metrics.h"

#include <algorithm>

#include "control/metrics/buckets.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : duration_(prometheus::BuildHistogram()
                    .Name("medrelay_http_request_duration_seconds")
                    .Help("Time from the request head parsed to the response written.")
                    .Register(registry)),
      requests_(prometheus::BuildCounter()
                    .Name("medrelay_http_requests_total")
                    .Help("HTTP requests answered, by route template and status class.")
                    .Register(registry)) {
  other_ = &series("other", "other");
}

HttpMetrics::Series& HttpMetrics::series(const std::string& method, const std::string& route) {
  for (auto& s : series_) {
    if (s->method == method && s->route == route) return *s;
  }
  auto s = std::make_unique<Series>();
  s->method = method;
  s->route = route;
  const prometheus::Labels labels{{"method", method}, {"route", route}};
  s->duration = &duration_.Add(labels, buckets::kHttpRequestSeconds);
  s->requests = resolveAll<StatusClass>(requests_, labels);
  series_.push_back(std::move(s));
  return *series_.back();
}

void HttpMetrics::declareRoutes(const RouteList& routes) {
  std::map<std::string, std::vector<std::string>> methods_of;  // template -> methods
  for (const auto& [method, path] : routes) {
    auto& methods = methods_of[path];
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
      methods.push_back(method);
    }
    byName_[method + " " + path] = &series(method, path);
  }
  for (const auto& [path, methods] : methods_of) {
    std::string joined;
    for (const auto& m : methods) joined += (joined.empty() ? "" : "|") + m;
    if (methods.size() == 1) {
      byName_[path] = byName_[methods.front() + " " + path];
    } else {
      shared_[path] = joined;  // resolved on first use: most such routes have explicit names
    }
  }
}

void HttpMetrics::record(std::string_view route_name, int status, double seconds) {
  auto it = byName_.find(route_name);
  if (it == byName_.end()) {
    if (auto shared = shared_.find(route_name); shared != shared_.end()) {
      it = byName_.emplace(shared->first, &series(shared->second, shared->first)).first;
    }
  }
  Series& s = it == byName_.end() ? *other_ : *it->second;
  s.requests[statusClass(status)]->Increment();
  s.duration->Observe(seconds);
}

std::pair<std::string, std::string> HttpMetrics::labelsOf(std::string_view route_name) const {
  if (auto it = byName_.find(route_name); it != byName_.end()) {
    return {it->second->method, it->second->route};
  }
  if (auto it = shared_.find(route_name); it != shared_.end()) return {it->second, it->first};
  return {other_->method, other_->route};
}

}  // namespace medrelay::metrics
