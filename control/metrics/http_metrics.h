#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "control/metrics/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// The REST/WHIP/WHEP/ops routes as (method, path template): the `route` label is the template,
// never the concrete path (no room ids in labels). kOther: no route matched (404/405).
#define MEDRELAY_METRICS_HTTP_ROUTES(X)                         \
  X(kRoomsCreate, "POST", "/v1/rooms")                          \
  X(kRoomsList, "GET", "/v1/rooms")                             \
  X(kRoomGet, "GET", "/v1/rooms/{id}")                          \
  X(kRoomPatch, "PATCH", "/v1/rooms/{id}")                      \
  X(kRoomDelete, "DELETE", "/v1/rooms/{id}")                    \
  X(kInviteCreate, "POST", "/v1/rooms/{id}/invites")            \
  X(kInviteRevoke, "DELETE", "/v1/rooms/{id}/invites/{invite}") \
  X(kAdmit, "POST", "/v1/rooms/{id}/admit")                     \
  X(kRoomAccessLog, "GET", "/v1/rooms/{id}/access-log")         \
  X(kAccessLog, "GET", "/v1/access-log")                        \
  X(kWhipCreate, "POST", "/v1/rooms/{id}/whip")                 \
  X(kWhipPatch, "PATCH", "/v1/rooms/{id}/whip/{session}")       \
  X(kWhipDelete, "DELETE", "/v1/rooms/{id}/whip/{session}")     \
  X(kWhepCreate, "POST", "/v1/rooms/{id}/whep")                 \
  X(kWhepPatch, "PATCH", "/v1/rooms/{id}/whep/{session}")       \
  X(kWhepDelete, "DELETE", "/v1/rooms/{id}/whep/{session}")     \
  X(kEvents, "GET", "/v1/rooms/{id}/events")                    \
  X(kInfo, "GET", "/v1/rooms/{id}/info")                        \
  X(kHealthz, "GET", "/healthz")                                \
  X(kReadyz, "GET", "/readyz")                                  \
  X(kMetrics, "GET", "/metrics")                                \
  X(kOther, "other", "other")

#define MEDRELAY_METRICS_HTTP_ROUTE_ENUMERATOR(id, method, path) id,
#define MEDRELAY_METRICS_HTTP_ROUTE_PATH(id, method, path) path,
#define MEDRELAY_METRICS_HTTP_ROUTE_METHOD(id, method, path) method,
enum class HttpRoute : uint8_t {
  MEDRELAY_METRICS_HTTP_ROUTES(MEDRELAY_METRICS_HTTP_ROUTE_ENUMERATOR)
};
template <>
struct LabelTraits<HttpRoute> {
  static constexpr std::string_view kName = "route";
  static constexpr std::string_view kValues[] = {
      MEDRELAY_METRICS_HTTP_ROUTES(MEDRELAY_METRICS_HTTP_ROUTE_PATH)};
  static constexpr std::string_view kMethods[] = {
      MEDRELAY_METRICS_HTTP_ROUTES(MEDRELAY_METRICS_HTTP_ROUTE_METHOD)};
};

constexpr std::string_view httpRouteMethod(HttpRoute route) {
  return LabelTraits<HttpRoute>::kMethods[labelIndex(route)];
}

// HTTP server metrics, control thread. The server resolves a request to its HttpRoute once (the
// router already knows it) and calls record() when the response is written; for the SSE route
// record at the response head, not at stream end.
class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);

  void record(HttpRoute route, int status, double seconds) {
    requests_[route][statusClass(status)]->Increment();
    duration_[route]->Observe(seconds);
  }

  prometheus::Counter& requests(HttpRoute route, StatusClass status_class) {
    return *requests_[route][status_class];
  }
  prometheus::Histogram& duration(HttpRoute route) { return *duration_[route]; }

 private:
  // Sorted by family name.
  ByLabel<HttpRoute, prometheus::Histogram*> duration_;  // medrelay_http_request_duration_seconds
  ByLabel<HttpRoute, ByLabel<StatusClass, prometheus::Counter*>> requests_;  // ..._requests_total
};

}  // namespace medrelay::metrics
