#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/http/http_server.h"
#include "net/http/route_table.h"
#include "net/tls/tls_context.h"
#include "server/app.h"
#include "server/static_files.h"

namespace medrelay::server {

// Splits "host:port" or "[v6]:port" (the config's listen syntax). False when malformed.
bool splitHostPort(const std::string& value, std::string& host, uint16_t& port);

// The HTTP(S) API listener as an App component: owns the RouteTable (other parts register their
// routes on it before start), the TLS context (reloaded on SIGHUP) and the HttpServer. Serves the
// ops endpoints /healthz (the process is alive) and /readyz (started, not draining, every media
// worker answering, every registered readiness check passing).
class HttpComponent : public App::Component {
 public:
  using ReadinessCheck = std::function<bool(std::string& why)>;

  explicit HttpComponent(App& app);

  net::http::RouteTable& router() { return *router_; }
  void addReadinessCheck(std::string name, ReadinessCheck check);
  // For metrics: called once per answered request.
  void setRequestObserver(net::http::RequestObserver observer);
  // For metrics: runs in start() once every route is registered, before the listener opens.
  void setRoutesObserver(std::function<void(const net::http::RouteTable&)> observer);
  // For metrics: runs with the certificate file after TLS is set up at start() and after every
  // successful reload().
  void setCertificateObserver(std::function<void(const std::string& cert_file)> observer);
  // What /readyz answers: true when started, not draining and every check passes; otherwise
  // `failing` (if given) gets one {check, reason} object per failure.
  bool ready(nlohmann::json* failing = nullptr) const;
  // The bound port once started (useful with port 0).
  uint16_t port() const { return server_ ? server_->port() : 0; }

  std::string name() const override { return "http"; }
  Result<void> start() override;
  void drain(std::chrono::milliseconds grace, std::function<void()> done) override;
  void stop() override;
  Result<void> reload() override;

 private:
  std::string webRoot() const;
  void addOpsRoutes();

  App& app_;
  std::unique_ptr<net::http::RouteTable> router_;
  std::shared_ptr<net::TlsContext> tls_;
  std::unique_ptr<StaticFiles> staticFiles_;  // before server_: its handler uses it
  std::unique_ptr<net::http::HttpServer> server_;
  net::http::RequestObserver observer_;
  std::function<void(const net::http::RouteTable&)> routesObserver_;
  std::function<void(const std::string&)> certObserver_;
  std::vector<std::pair<std::string, ReadinessCheck>> readiness_;
};

}  // namespace medrelay::server
