#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/counters/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// HTTP server metrics, control thread. The `route` label is a path template registered on the
// RouteTable, never a concrete path (no room ids in labels), so the label set is bounded by the
// routes the binary registers. declareRoutes() takes them from the RouteTable at startup, so a new
// route is labelled without editing this file; anything else (404s, parse errors, a name never
// declared) is counted as method="other", route="other".
class HttpMetrics {
 public:
  using RouteList = std::vector<std::pair<std::string, std::string>>;  // (method, template)

  explicit HttpMetrics(prometheus::Registry& registry);

  // Resolves the series of every route (idempotent; call before serving). A route is looked up
  // by the name the RouteTable reports: "METHOD /template" (names given by the REST API) or the
  // bare template (the RouteTable's default). A bare template registered with several methods is
  // labelled with the methods joined by "|" (the name does not say which one answered); that series
  // is created on its first request.
  void declareRoutes(const RouteList& routes);

  // Called once per answered request with the RouteTable's route name.
  void record(std::string_view route_name, int status, double seconds);

  // The (method, route) label pair a route name is counted under.
  std::pair<std::string, std::string> labelsOf(std::string_view route_name) const;

 private:
  struct Series {
    std::string method;
    std::string route;
    prometheus::Histogram* duration = nullptr;
    ByLabel<StatusClass, prometheus::Counter*> requests;
  };
  Series& series(const std::string& method, const std::string& route);

  // Sorted by family name.
  prometheus::Family<prometheus::Histogram>& duration_;  // medrelay_http_request_duration_seconds
  prometheus::Family<prometheus::Counter>& requests_;    // medrelay_http_requests_total
  std::vector<std::unique_ptr<Series>> series_;
  std::map<std::string, Series*, std::less<>> byName_;
  std::map<std::string, std::string, std::less<>> shared_;  // bare template -> "PATCH|DELETE"
  Series* other_ = nullptr;
};

}  // namespace medrelay::metrics
