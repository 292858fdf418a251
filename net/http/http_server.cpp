#include "net/http/http_server.h"

#include "common/logging.h"

namespace medrelay::net::http {

HttpServer::HttpServer(Dispatcher& dispatcher, HttpServerOptions options, Handler handler)
    : dispatcher_(dispatcher),
      options_(std::move(options)),
      handler_(std::move(handler)),
      readBuffer_(64 * 1024, '\0'),
      reaper_(dispatcher, [this] { reap(); }),
      graceTimer_(dispatcher, [this] {
        // Grace is over: whatever is still open goes now.
        auto open = connections_;
        for (auto& [id, c] : open) c->closeNow();
        reap();
      }) {
  config_.limits = options_.limits;
  config_.timeouts = options_.timeouts;
  config_.maxPipelined = options_.maxPipelined;
  config_.maxWriteBacklog = options_.maxWriteBacklog;
}

HttpServer::~HttpServer() {
  destroying_ = true;
  listener_.reset();
  auto open = std::move(connections_);
  connections_.clear();
  for (auto& [id, c] : open) c->closeNow();
  closed_.clear();
}

Result<void> HttpServer::listen() {
  sockaddr_storage addr{};
  if (uv_ip4_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in*>(&addr)) !=
          0 &&
      uv_ip6_addr(options_.host.c_str(), options_.port, reinterpret_cast<sockaddr_in6*>(&addr)) !=
          0) {
    return makeError("bad_address", "not an IPv4 or IPv6 address: " + options_.host);
  }
  UvHandle<uv_tcp_t> tcp;
  int rc = uv_tcp_init(dispatcher_.loop(), tcp.get());
  if (rc == 0) rc = uv_tcp_bind(tcp.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) {
    tcp.get()->data = this;
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp.get()), options_.listenBacklog,
                   &HttpServer::onConnection);
  }
  if (rc != 0) {
    return makeError("listen_failed", "cannot listen on " + options_.host + ":" +
                                          std::to_string(options_.port) + ": " + uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(tcp.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listener_ = std::move(tcp);
  MR_LOG_INFO(log::get("http"), "listening on {} port {}{}", options_.host, port_,
              options_.tls ? " (TLS)" : "");
  return {};
}

void HttpServer::stopAccepting() {
  listener_.reset();
}

void HttpServer::onConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<HttpServer*>(server->data);
  if (self == nullptr || status < 0) return;
  self->accept();
}

void HttpServer::accept() {
  UvHandle<uv_tcp_t> tcp;
  if (uv_tcp_init(dispatcher_.loop(), tcp.get()) != 0) return;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_.get()),
                reinterpret_cast<uv_stream_t*>(tcp.get())) != 0) {
    return;  // tcp closes with its owner
  }
  uv_tcp_nodelay(tcp.get(), 1);
  bool full = connections_.size() - rejecting_ >= options_.maxConnections;
  if (full && options_.tls) return;  // no handshake spent on a connection we refuse
  SslPtr ssl;
  if (options_.tls) {
    ssl = options_.tls->newSsl();
    if (!ssl) {
      MR_LOG_ERROR(log::get("http"), "{}", drainSslErrors("SSL_new"));
      return;
    }
  }
  uint64_t id = nextId_++;
  auto conn = std::make_shared<HttpConnection>(dispatcher_, static_cast<Owner&>(*this), config_, id,
                                               std::move(tcp), std::move(ssl));
  connections_.emplace(id, conn);
  if (full) {
    ++rejecting_;
    conn->rejectBusy();
  } else {
    conn->start();
  }
}

void HttpServer::handleRequest(Request& request, Responder responder) {
  if (!handler_) {
    responder.send(Response::error(404, "not_found", "no handler"));
    return;
  }
  handler_(request, std::move(responder));
}

void HttpServer::requestDone(const std::string& routeName, int status, double seconds) {
  if (options_.onRequestDone) options_.onRequestDone(routeName, status, seconds);
}

void HttpServer::connectionClosed(HttpConnection& connection) {
  if (destroying_) return;
  auto it = connections_.find(connection.id());
  if (it == connections_.end()) return;
  if (it->second->rejected()) --rejecting_;
  closed_.push_back(std::move(it->second));
  connections_.erase(it);
  reaper_.start(std::chrono::milliseconds(0));
}

void HttpServer::reap() {
  closed_.clear();
  if (shuttingDown_ && connections_.empty() && shutdownDone_) {
    graceTimer_.stop();
    auto done = std::move(shutdownDone_);
    shutdownDone_ = nullptr;
    done();
  }
}

void HttpServer::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  stopAccepting();
  shuttingDown_ = true;
  shutdownDone_ = std::move(done);
  auto open = connections_;
  for (auto& [id, c] : open) c->beginShutdown();
  graceTimer_.start(grace);
  reaper_.start(std::chrono::milliseconds(0));  // done runs from the loop even with no connections
}

}  // namespace medrelay::net::http
