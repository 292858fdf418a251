#include "server/components.h"

namespace medrelay::server {

Result<void> attachComponents(App& app, const BootstrapReport& bootstrap) {
  // Nothing attached yet: the process runs the control loop and the media workers and handles
  // signals. The HTTP server, TURN and the access log are added here, e.g.
  //   app.addComponent(std::make_unique<HttpComponent>(app, bootstrap));
  (void)app;
  (void)bootstrap;
  return {};
}

}  // namespace medrelay::server
