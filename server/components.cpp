#include "server/components.h"

#include <memory>
#include <string>

#include "server/cluster_component.h"
#include "server/control_component.h"
#include "server/http_component.h"
#include "server/media_component.h"
#include "server/turn_component.h"

namespace medrelay::server {
namespace {

// Connects the parts once the control plane is up (its ConsultationService and Metrics exist
// only after ControlComponent::start()): the media plane authorizes joins through the service
// and counts into the registry's per-worker blocks; TURN asks the service whether an invite is
// still live, and revoking an invite or cancelling or ending a room tears down its TURN
// allocations at once.
class ComponentLinks : public App::Component {
 public:
  ComponentLinks(ControlComponent& control, MediaComponent& media, TurnComponent* turn)
      : control_(control), media_(media), turn_(turn) {}
  std::string name() const override { return "links"; }
  Result<void> start() override {
    auto& metrics = control_.metrics();
    signalling::WhipEndpoint& endpoint = media_.endpoint();
    endpoint.setMetricsProvider(
        [&metrics](size_t worker) { return &metrics.addWorker(std::to_string(worker)).media; });
    endpoint.setConsultationService(&control_.service());
    endpoint.setJoinObserver(
        [&metrics](double seconds) { metrics.policy().joinCompleted(seconds); });
    control_.service().setQualityHook(
        [&metrics](const control::Session& s, const control::LinkQuality& q) {
          const bool publish = s.direction == control::SessionKind::kPublish;
          metrics.policy().linkQuality(
              metrics::labelFromString<metrics::Role>(control::toString(s.role)),
              publish ? metrics::Direction::kIn : metrics::Direction::kOut,
              static_cast<double>(q.bitrate_bps), q.loss, q.rtt_ms / 1000.0);
        });
    if (turn_ != nullptr) {
      turn_->setMetrics(&metrics.addWorker("turn").turn);
      endpoint.setIceServerMinter(
          [turn = turn_](const std::string& invite,
                         int64_t expires) -> std::optional<signalling::WhipEndpoint::IceServers> {
            auto creds = turn->mintCredentials(invite, expires);
            if (creds.uris.empty()) return std::nullopt;
            return signalling::WhipEndpoint::IceServers{creds.uris, creds.username, creds.password,
                                                        net::turn::formatIceServerLinks(creds)};
          });
      // Revoked invites stay refused across restarts: the service's view is loaded from the
      // store and asked on the TURN thread.
      turn_->setInviteLiveness(&control_.service().inviteLiveness());
      control_.service().setInviteRevokedHook(
          [turn = turn_](const std::string& invite_id) { turn->revokeInvite(invite_id); });
    }
    return {};
  }
  void drain(std::chrono::milliseconds, std::function<void()> done) override { done(); }

 private:
  ControlComponent& control_;
  MediaComponent& media_;
  TurnComponent* turn_;
};

}  // namespace

Result<void> attachComponents(App& app, const BootstrapReport& bootstrap,
                              net::http::RouteTable** router) {
  (void)bootstrap;
  auto http = std::make_unique<HttpComponent>(app);
  // Start order: control (store, access log, service), then the links that hand the service to
  // the media plane, then HTTP, media and TURN. Drain runs in reverse, so HTTP stops accepting
  // before the control plane ends the remaining sessions.
  auto control = std::make_unique<ControlComponent>(app, *http);
  auto media = std::make_unique<MediaComponent>(app, http->router(), nullptr);
  std::unique_ptr<TurnComponent> turn;
  if (app.config().turn.enabled) {
    turn = std::make_unique<TurnComponent>(app);
    turn->setMediaComponent(media.get());  // its workers are TURN's own peer addresses
  }
  auto links = std::make_unique<ComponentLinks>(*control, *media, turn.get());
  // A cluster node (docs/cluster.md) only with cluster.redis; without it nothing changes.
  std::unique_ptr<ClusterComponent> cluster;
  if (!app.config().cluster.redis.empty()) {
    cluster = std::make_unique<ClusterComponent>(app, *http, *control, *media);
  }
  if (router != nullptr) *router = &http->router();
  app.addComponent(std::move(control));
  app.addComponent(std::move(links));
  if (cluster) app.addComponent(std::move(cluster));
  app.addComponent(std::move(http));
  app.addComponent(std::move(media));
  if (turn) app.addComponent(std::move(turn));
  return {};
}

}  // namespace medrelay::server
