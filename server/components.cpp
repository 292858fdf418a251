#include "server/components.h"

#include "server/control_component.h"
#include "server/http_component.h"
#include "server/turn_component.h"

namespace medrelay::server {

Result<void> attachComponents(App& app, const BootstrapReport& bootstrap,
                              net::http::Router** router) {
  (void)bootstrap;
  auto http = std::make_unique<HttpComponent>(app);
  // Before HTTP: running when the first request comes, draining after HTTP stops accepting.
  auto control = std::make_unique<ControlComponent>(app, *http);
  if (router != nullptr) *router = &http->router();
  app.addComponent(std::move(control));
  app.addComponent(std::move(http));
  if (app.config().turn.enabled) app.addComponent(std::make_unique<TurnComponent>(app));
  return {};
}

}  // namespace medrelay::server
