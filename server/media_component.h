#pragma once
// The media plane as an App component: runs the WHIP/WHEP endpoint (signalling::WhipEndpoint,
// which owns one media::Router per worker) with the addresses of server::Config::Media, on the
// App's control loop and media workers (docs/architecture.md, "Components and start order").
#include <chrono>
#include <functional>
#include <string>

#include "server/app.h"
#include "signalling/whip_endpoint.h"

namespace medrelay::server {

class MediaComponent final : public App::Component {
 public:
  // `service` may be set later (endpoint().setConsultationService) but before start().
  MediaComponent(App& app, net::http::RouteTable& http, control::ConsultationService* service);

  signalling::WhipEndpoint& endpoint() { return endpoint_; }

  std::string name() const override { return "media"; }
  Result<void> start() override { return endpoint_.start(); }
  void drain(std::chrono::milliseconds grace, std::function<void()> done) override;
  void stop() override { endpoint_.stop(); }

 private:
  signalling::WhipEndpoint endpoint_;
};

}  // namespace medrelay::server
