#pragma once

#include "common/result.h"
#include "net/http/route_table.h"
#include "server/app.h"
#include "server/bootstrap.h"

namespace medrelay::server {

// Attaches the server's components (HTTP API, TURN, access log, …) to the App, in start order.
// The one place that knows the concrete components, so wiring a new one touches only this
// function (server/components.cpp). `router`, when given, receives the HTTP router (for
// `--print-routes`).
Result<void> attachComponents(App& app, const BootstrapReport& bootstrap,
                              net::http::RouteTable** router = nullptr);

}  // namespace medrelay::server
