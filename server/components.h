#pragma once

#include "common/result.h"
#include "server/app.h"
#include "server/bootstrap.h"

namespace medrelay::server {

// Attaches the server's components (HTTP API, TURN, access log, …) to the App, in start order.
// The one place that knows the concrete components, so wiring a new one touches only this
// function (server/components.cpp).
Result<void> attachComponents(App& app, const BootstrapReport& bootstrap);

}  // namespace medrelay::server
