#include "server/components.h"

#include <memory>

#include "server/http_component.h"
#include "server/turn_component.h"

namespace medrelay::server {

Result<void> attachComponents(App& app, const BootstrapReport& bootstrap) {
  (void)bootstrap;
  auto http = std::make_unique<HttpComponent>(app);
  app.addComponent(std::move(http));
  if (app.config().turn.enabled) app.addComponent(std::make_unique<TurnComponent>(app));
  return {};
}

}  // namespace medrelay::server
