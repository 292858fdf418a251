#include "server/components.h"

#include <memory>

#include "media/media_component.h"
#include "server/http_component.h"

namespace medrelay::server {

Result<void> attachComponents(App& app, const BootstrapReport& bootstrap) {
  (void)bootstrap;
  auto http = std::make_unique<HttpComponent>(app);
  // WHIP/WHEP answer 503 until the control-plane component hands its ConsultationService over
  // (media->setConsultationService(&service), before start).
  auto media = std::make_unique<media::MediaComponent>(app, http->router(), nullptr);
  app.addComponent(std::move(http));
  app.addComponent(std::move(media));
  return {};
}

}  // namespace medrelay::server
