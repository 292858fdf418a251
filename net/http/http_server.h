#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/dispatcher.h"
#include "net/http/http_connection.h"
#include "net/http/http_message.h"
#include "net/http/responder.h"
#include "net/tls/tls_context.h"

namespace medrelay::net::http {

// A request handler: answer through the Responder now or later (exactly once).
using Handler = std::function<void(Request&, Responder)>;
// Called once per answered request with the route template (Request::routeName; "" for errors
// the server answered itself: 400/408/413/431/503), the status and seconds from the complete
// request to the answer. For SSE, called when the stream starts.
using RequestObserver =
    std::function<void(const std::string& routeName, int status, double durationSeconds)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";   // IPv4 or IPv6 literal ("0.0.0.0", "::", "::1")
  uint16_t port = 0;                // 0 = ephemeral; see HttpServer::port()
  std::shared_ptr<TlsContext> tls;  // null = plain HTTP
  RequestLimits limits;
  HttpTimeouts timeouts;
  size_t maxConnections = 1024;  // beyond: 503 + close (plain) or close (TLS)
  size_t maxPipelined = 16;      // unanswered requests per connection before reading pauses
  size_t maxWriteBacklog = 1 << 20;
  int listenBacklog = 511;
  RequestObserver onRequestDone;  // optional, for metrics
};

// HTTP/1.1 server on one Dispatcher (all methods on its loop thread): keep-alive, pipelining
// with in-order answers, chunked bodies, limits and timeouts, optional TLS. See docs/http.md.
class HttpServer : private HttpConnection::Owner {
 public:
  HttpServer(Dispatcher& dispatcher, HttpServerOptions options, Handler handler);
  // Closes the listener and every connection at once.
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Result<void> listen();
  // The bound port (useful with port 0); 0 before listen().
  uint16_t port() const { return port_; }
  // Closes the listening socket; open connections carry on.
  void stopAccepting();
  // Stops accepting, closes idle keep-alive connections and SSE streams now, lets in-flight
  // requests finish (their answers carry "Connection: close"), force-closes whatever is left
  // at the grace deadline, then calls done (on the loop, never inside this call).
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);
  size_t connectionCount() const { return connections_.size(); }

 private:
  static void onConnection(uv_stream_t* server, int status);
  void accept();
  void reap();

  void handleRequest(Request& request, Responder responder) override;
  void requestDone(const std::string& routeName, int status, double seconds) override;
  void connectionClosed(HttpConnection& connection) override;
  std::string& readBuffer() override { return readBuffer_; }

  Dispatcher& dispatcher_;
  HttpServerOptions options_;
  HttpConnection::Config config_;
  Handler handler_;
  UvHandle<uv_tcp_t> listener_;
  uint16_t port_ = 0;
  std::map<uint64_t, std::shared_ptr<HttpConnection>> connections_;
  std::vector<std::shared_ptr<HttpConnection>> closed_;  // destroyed by reaper_, off-callback
  size_t rejecting_ = 0;
  uint64_t nextId_ = 1;
  std::string readBuffer_;
  Timer reaper_;
  Timer graceTimer_;
  bool shuttingDown_ = false;
  bool destroying_ = false;
  std::function<void()> shutdownDone_;
};

}  // namespace medrelay::net::http
