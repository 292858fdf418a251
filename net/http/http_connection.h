#pragma once

#include <uv.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "net/dispatcher.h"
#include "net/http/request_parser.h"
#include "net/http/responder.h"
#include "net/tls/tls_session.h"
#include "net/uv_handle.h"

namespace medrelay::net::http {

class HttpConnection;

namespace detail {

struct ResponderState {
  ResponderState(std::weak_ptr<HttpConnection> c, uint64_t s, Dispatcher* d)
      : conn(std::move(c)), seq(s), dispatcher(d) {}
  ~ResponderState();  // answers 500 if nobody answered
  std::weak_ptr<HttpConnection> conn;
  uint64_t seq;
  Dispatcher* dispatcher;
  bool done = false;
  Headers defaults;
  std::function<void(Response)> sink;  // set by Responder::toCallback instead of conn
};

struct SseState {
  std::weak_ptr<HttpConnection> conn;
  uint64_t seq = 0;
  bool open = true;
  bool appClosed = false;
  std::function<void()> onClosed;
};

}  // namespace detail

struct HttpTimeouts {
  std::chrono::milliseconds header{10000};  // first byte of a request -> end of its headers
  std::chrono::milliseconds body{30000};    // end of headers -> end of body
  std::chrono::milliseconds idle{60000};    // keep-alive connection with nothing in flight
  std::chrono::milliseconds linger{2000};   // after our FIN, wait this long for the client's
};

// One HTTP/1.1 connection (plain or TLS) on the server's loop. Internal to HttpServer; the
// public face is Request/Responder/SseStream. Owned by the server through a shared_ptr so
// Responders can hold a weak_ptr; never destroyed inside its own callbacks.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void handleRequest(Request& request, Responder responder) = 0;
    virtual void requestDone(const std::string& routeName, int status, double seconds) = 0;
    virtual void connectionClosed(HttpConnection& connection) = 0;
    virtual std::string& readBuffer() = 0;  // shared scratch buffer for uv_read
  };
  struct Config {
    RequestLimits limits;
    HttpTimeouts timeouts;
    size_t maxPipelined = 16;          // unanswered requests before reading pauses
    size_t maxWriteBacklog = 1 << 20;  // unsent bytes before reading pauses / SSE is cut
  };

  HttpConnection(Dispatcher& dispatcher, Owner& owner, const Config& config, uint64_t id,
                 UvHandle<uv_tcp_t> tcp, SslPtr ssl);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void start();
  // Over the connection limit: answer 503 (plain HTTP) and close.
  void rejectBusy();
  // Graceful: finish in-flight requests, then close; idle connections and SSE close now.
  void beginShutdown();
  // Immediate close (grace deadline, server destruction).
  void closeNow();

  uint64_t id() const { return id_; }
  bool closed() const { return state_ == State::kClosed; }
  bool rejected() const { return rejected_; }

  // Responder/SseStream entry points (loop thread).
  void respond(uint64_t seq, Response response);
  bool startSse(uint64_t seq, Response head, const SseOptions& options,
                std::shared_ptr<detail::SseState> sse);
  bool sseWrite(uint64_t seq, std::string_view bytes);
  void sseClose(uint64_t seq);

 private:
  enum class State { kOpen, kClosing, kShutdownSent, kClosed };
  enum class TimerKind { kNone, kHeader, kBody, kIdle, kLinger, kSseKeepAlive };
  struct Slot {
    uint64_t seq = 0;
    std::shared_ptr<Request> request;  // null for an error answered by the server itself
    std::optional<Response> response;
    bool head = false;
    bool keepAlive = true;
    uint64_t startNs = 0;
    // SSE: the slot stays at the head of the pipeline while the stream is open.
    std::shared_ptr<detail::SseState> sse;
    std::string sseBytes;
    bool sseEnded = false;
  };

  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onShutdown(uv_shutdown_t* req, int status);

  void handleBytes(std::string_view bytes);
  void handlePlain(std::string_view plain);
  void dispatchRequest(Request&& request);
  void handlePeerEof();
  void addErrorSlot(int status, const std::string& code, const std::string& message);
  Slot* findSlot(uint64_t seq);
  void flushSlots();
  void serialize(const Slot& slot, bool closeAfter);
  void sendPlain(std::string_view bytes);
  void writeOutbox();
  void beginClose();
  void maybeShutdown();
  void updateTimer();
  void updateReading();
  void onTimer();
  size_t backlog() const;

  Dispatcher& dispatcher_;
  Owner& owner_;
  const Config& config_;
  uint64_t id_;
  UvHandle<uv_tcp_t> tcp_;
  std::unique_ptr<TlsSession> tls_;
  std::string remote_;
  RequestParser parser_;
  Timer timer_;
  TimerKind timerKind_ = TimerKind::kNone;
  uint64_t timerMessage_ = 0;  // parser_.messagesBegun() when a header/body timer started
  std::chrono::milliseconds sseKeepAlive_{0};
  std::deque<Slot> slots_;
  uint64_t nextSeq_ = 1;
  uint64_t served_ = 0;
  std::string outbox_;  // bytes for the wire not yet handed to uv_write
  size_t inFlightBytes_ = 0;
  bool writeInFlight_ = false;
  bool reading_ = false;
  bool peerEof_ = false;
  bool rejected_ = false;
  bool draining_ = false;  // no more requests; close once the pipeline is empty
  State state_ = State::kOpen;
};

}  // namespace medrelay::net::http
