#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/http/http_message.h"

namespace medrelay::net::http {

namespace detail {
struct ResponderState;
struct SseState;
}  // namespace detail

struct SseOptions {
  // A ": keep-alive" comment is written this often so proxies keep the stream open; 0 = never.
  std::chrono::milliseconds keepAliveInterval{15000};
  // Sent first as "retry: <ms>" (the client's reconnect delay) when set.
  std::optional<int> retryMs;
};

// A Server-Sent Events stream (WHATWG HTML 9.2). A cheap copyable handle; every call on a closed
// or detached stream is a no-op returning false. Use on the server's loop thread only.
class SseStream {
 public:
  SseStream() = default;
  // One event: "event:" (omitted if empty), "id:" (omitted if empty), one "data:" line per line
  // of data. CR/LF in event and id are dropped.
  bool send(std::string_view event, std::string_view data, std::string_view id = {});
  // A comment line (": text"), ignored by clients.
  bool comment(std::string_view text);
  // Ends the stream and closes the connection. onClosed is not called for our own close().
  void close();
  bool open() const;
  // Called once when the stream ends without close(): the client went away, a write failed or
  // the server is shutting down. Runs at once if the stream is already gone.
  void onClosed(std::function<void()> cb);

 private:
  friend class Responder;
  explicit SseStream(std::shared_ptr<detail::SseState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::SseState> state_;
};

// Answers one request, now or later, exactly once. Copyable (it can ride in a post() lambda);
// all copies share one state. The first send()/startSse() wins; later calls are ignored. If the
// connection is gone, sending is a harmless no-op. If every copy is dropped without an answer,
// the client gets a 500 "internal". Call on the server's loop thread; send() from another thread
// is posted to it. A Responder must not outlive the server's Dispatcher.
class Responder {
 public:
  explicit Responder(std::shared_ptr<detail::ResponderState> state) : state_(std::move(state)) {}
  // A Responder not tied to a connection: the answer goes to sink (tests, in-process callers).
  // startSse() on it returns a detached stream.
  static Responder toCallback(std::function<void(Response)> sink);

  void send(Response response);
  // Answers 200 text/event-stream (no Content-Length, Cache-Control: no-store) and returns the
  // stream. No further requests are read from this connection; idle timeouts no longer apply.
  SseStream startSse(const SseOptions& options = {});
  bool responded() const;
  // False once the client has disconnected (loop thread only).
  bool connected() const;
  // Added to the eventual response unless the handler set that field itself (used for CORS).
  void setDefaultHeader(std::string name, std::string value);

 private:
  std::shared_ptr<detail::ResponderState> state_;
};

}  // namespace medrelay::net::http
