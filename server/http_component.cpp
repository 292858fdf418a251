#include "server/http_component.h"

#include <charconv>

#include "common/logging.h"
#include "server/static_files.h"

namespace medrelay::server {

bool splitHostPort(const std::string& value, std::string& host, uint16_t& port) {
  std::string_view v = value;
  std::string_view port_text;
  if (!v.empty() && v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos || close + 1 >= v.size() || v[close + 1] != ':') {
      return false;
    }
    host = std::string(v.substr(1, close - 1));
    port_text = v.substr(close + 2);
  } else {
    auto colon = v.rfind(':');
    if (colon == std::string_view::npos || v.find(':') != colon) return false;
    host = std::string(v.substr(0, colon));
    port_text = v.substr(colon + 1);
  }
  unsigned parsed = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), parsed);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || parsed > 65535 ||
      host.empty()) {
    return false;
  }
  port = static_cast<uint16_t>(parsed);
  return true;
}

HttpComponent::HttpComponent(App& app) : app_(app) {
  net::http::CorsOptions cors;
  if (!app.config().http.cors_origins.empty()) cors.allowedOrigins = app.config().http.cors_origins;
  router_ = std::make_unique<net::http::RouteTable>(std::move(cors));
  addOpsRoutes();
}

void HttpComponent::addReadinessCheck(std::string name, ReadinessCheck check) {
  readiness_.emplace_back(std::move(name), std::move(check));
}

void HttpComponent::setRequestObserver(net::http::RequestObserver observer) {
  observer_ = std::move(observer);
}

void HttpComponent::setRoutesObserver(std::function<void(const net::http::RouteTable&)> observer) {
  routesObserver_ = std::move(observer);
}

void HttpComponent::setCertificateObserver(std::function<void(const std::string&)> observer) {
  certObserver_ = std::move(observer);
}

bool HttpComponent::ready(nlohmann::json* failing) const {
  bool ok = true;
  auto fail = [&](const std::string& check, const std::string& reason) {
    ok = false;
    if (failing != nullptr) failing->push_back({{"check", check}, {"reason", reason}});
  };
  if (app_.draining()) fail("process", "draining");
  if (!app_.ready()) fail("workers", "not all running");
  for (const auto& [name, check] : readiness_) {
    std::string why;
    if (!check(why)) fail(name, why);
  }
  return ok;
}

void HttpComponent::addOpsRoutes() {
  router_->add("GET", "/healthz", [](net::http::Request&, net::http::Responder r) {
    r.send(net::http::Response::json(200, {{"status", "ok"}}));
  });
  router_->add("GET", "/readyz", [this](net::http::Request&, net::http::Responder r) {
    nlohmann::json failing = nlohmann::json::array();
    if (ready(&failing)) {
      r.send(net::http::Response::json(200, {{"status", "ready"}}));
      return;
    }
    auto resp = net::http::Response::json(
        503, {{"code", "not_ready"}, {"message", "the server is not ready"}, {"failing", failing}});
    r.send(std::move(resp));
  });
}

std::string HttpComponent::webRoot() const {
  const auto& root = app_.config().web.root;
  return root.empty() ? defaultWebRoot() : root;
}

Result<void> HttpComponent::start() {
  const auto& cfg = app_.config().http;
  net::http::HttpServerOptions opts;
  if (!splitHostPort(cfg.listen, opts.host, opts.port)) {
    return makeError("invalid_listen", "http.listen: not host:port: " + cfg.listen);
  }
  if (!cfg.tls_cert.empty()) {
    auto tls = net::TlsContext::create(cfg.tls_cert, cfg.tls_key);
    if (!tls) return tls.error();
    tls_ = tls.value();
    opts.tls = tls_;
    if (certObserver_) certObserver_(cfg.tls_cert);
  }
  if (routesObserver_) routesObserver_(*router_);
  opts.limits.maxHeaderBytes = cfg.max_header_bytes;
  opts.limits.maxBodyBytes = cfg.max_body_bytes;
  opts.timeouts.header = std::chrono::milliseconds(cfg.header_timeout_ms);
  opts.timeouts.idle = std::chrono::milliseconds(cfg.idle_timeout_ms);
  opts.maxConnections = cfg.max_connections;
  opts.onRequestDone = observer_;
  // The web client at /app/ (static files), everything else through the router.
  const std::string root = webRoot();
  staticFiles_ = std::make_unique<StaticFiles>(root, "/app");
  if (staticFiles_->root().empty()) {
    MR_LOG_WARN(log::get("http"), "web client not found ({}): /app/ answers 404",
                root.empty() ? "run scripts/build-web.sh or set web.root" : root);
  }
  net::http::Handler handler = [this](net::http::Request& req, net::http::Responder res) {
    if (staticFiles_->handles(req.path)) {
      req.routeName = "/app/";
      res.send(staticFiles_->serve(req));
      return;
    }
    router_->handle(req, std::move(res));
  };
  server_ = std::make_unique<net::http::HttpServer>(app_.control(), std::move(opts), handler);
  return server_->listen();
}

void HttpComponent::drain(std::chrono::milliseconds grace, std::function<void()> done) {
  if (!server_) {
    done();
    return;
  }
  server_->shutdown(grace, std::move(done));
}

void HttpComponent::stop() {
  server_.reset();
}

Result<void> HttpComponent::reload() {
  if (!tls_) return {};
  auto r = tls_->reload();
  auto logger = log::get("http");
  if (r) {
    MR_LOG_INFO(logger, "TLS certificate reloaded from {}", app_.config().http.tls_cert);
    if (certObserver_) certObserver_(app_.config().http.tls_cert);
  }
  return r;
}

}  // namespace medrelay::server
