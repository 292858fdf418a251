#include "net/http/http_connection.h"

#include <ctime>

#include "common/logging.h"

namespace medrelay::net::http {

namespace {

struct WriteReq {
  uv_write_t req{};
  std::string bytes;
};

struct ShutdownReq {
  uv_shutdown_t req{};
};

std::string peerAddress(uv_tcp_t* tcp) {
  sockaddr_storage ss{};
  int len = sizeof(ss);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  char ip[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    uv_ip6_name(a, ip, sizeof(ip));
    return "[" + std::string(ip) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  uv_ip4_name(a, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(a->sin_port));
}

// IMF-fixdate (RFC 9110 5.6.7) for the Date field.
std::string httpDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool safeFieldText(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

HttpConnection::HttpConnection(Dispatcher& dispatcher, Owner& owner, const Config& config,
                               uint64_t id, UvHandle<uv_tcp_t> tcp, SslPtr ssl)
    : dispatcher_(dispatcher),
      owner_(owner),
      config_(config),
      id_(id),
      tcp_(std::move(tcp)),
      parser_(config.limits,
              RequestParser::Callbacks{[this](Request&& r) { dispatchRequest(std::move(r)); },
                                       [this] {
                                         // Interim 100 only when it cannot overtake an earlier
                                         // response.
                                         if (slots_.empty() && state_ == State::kOpen) {
                                           sendPlain("HTTP/1.1 100 Continue\r\n\r\n");
                                           writeOutbox();
                                         }
                                       }}),
      timer_(dispatcher, [this] { onTimer(); }) {
  tcp_.get()->data = this;
  remote_ = peerAddress(tcp_.get());
  if (ssl) tls_ = std::make_unique<TlsSession>(std::move(ssl));
}

HttpConnection::~HttpConnection() = default;

void HttpConnection::start() {
  updateReading();
  updateTimer();
}

void HttpConnection::rejectBusy() {
  rejected_ = true;
  draining_ = true;
  parser_.stop();
  addErrorSlot(503, "service_unavailable", "too many connections");
  flushSlots();
}

void HttpConnection::beginShutdown() {
  if (state_ != State::kOpen) return;
  draining_ = true;
  parser_.stop();
  if (!slots_.empty() && slots_.front().sse) {
    auto sse = slots_.front().sse;
    slots_.front().sseEnded = true;
    if (sse->open) {
      sse->open = false;
      if (sse->onClosed) sse->onClosed();
    }
  }
  flushSlots();  // closes now if nothing is in flight
  updateTimer();
}

void HttpConnection::onAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<HttpConnection*>(h->data);
  if (self == nullptr) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  std::string& b = self->owner_.readBuffer();
  *buf = uv_buf_init(b.data(), static_cast<unsigned>(b.size()));
}

void HttpConnection::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<HttpConnection*>(s->data);
  if (self == nullptr) return;
  auto keep = self->shared_from_this();  // callbacks below may close us
  if (nread < 0) {
    self->handlePeerEof();
    return;
  }
  if (nread == 0) return;
  self->handleBytes(std::string_view(buf->base, static_cast<size_t>(nread)));
}

void HttpConnection::handlePeerEof() {
  // The client is gone (or half-closed, which we treat the same: RFC 9112 9.6 lets us close).
  // Pending answers are dropped so their Responders become no-ops right away.
  peerEof_ = true;
  closeNow();
}

void HttpConnection::handleBytes(std::string_view bytes) {
  if (state_ == State::kShutdownSent || state_ == State::kClosed) return;  // lingering: discard
  if (!tls_) {
    handlePlain(bytes);
    return;
  }
  std::string plain;
  std::string wire;
  bool ok = tls_->receive(bytes, plain, wire);
  outbox_ += wire;
  if (!ok) {
    MR_LOG_DEBUG(log::get("http"), "tls {} from {}", tls_->error(), remote_);
    writeOutbox();
    beginClose();
    return;
  }
  if (!plain.empty()) handlePlain(plain);
  if (tls_->peerClosed() && state_ != State::kClosed) handlePeerEof();
  writeOutbox();
}

void HttpConnection::handlePlain(std::string_view plain) {
  if (state_ != State::kOpen) return;
  if (!parser_.stopped()) {
    parser_.feed(plain);
    if (state_ == State::kClosed) return;
    if (parser_.stopped() && !draining_) {
      draining_ = true;
      if (parser_.failure()) {
        const auto& f = *parser_.failure();
        addErrorSlot(f.status, f.code, f.message);
      }
    }
  }
  flushSlots();
  updateTimer();
  updateReading();
}

void HttpConnection::dispatchRequest(Request&& request) {
  auto req = std::make_shared<Request>(std::move(request));
  req->remoteAddress = remote_;
  req->tls = tls_ != nullptr;
  Slot slot;
  slot.seq = nextSeq_++;
  slot.request = req;
  slot.head = req->method == "HEAD";
  slot.keepAlive = req->keepAlive;
  slot.startNs = uv_hrtime();
  slots_.push_back(std::move(slot));
  Responder responder(
      std::make_shared<detail::ResponderState>(weak_from_this(), slots_.back().seq, &dispatcher_));
  // The control path may throw; turn it into a 500 at this boundary so one bad handler cannot
  // take the connection or the loop down (docs/architecture.md, "Errors").
  try {
    owner_.handleRequest(*req, responder);
  } catch (const std::exception& e) {
    MR_LOG_ERROR(log::get("http"), "handler for {} {} threw: {}", req->method, req->path, e.what());
    responder.send(Response::error(500, "internal", "internal error"));
  } catch (...) {
    responder.send(Response::error(500, "internal", "internal error"));
  }
}

void HttpConnection::addErrorSlot(int status, const std::string& code, const std::string& msg) {
  Slot slot;
  slot.seq = nextSeq_++;
  slot.keepAlive = false;
  slot.response = Response::error(status, code, msg);
  slots_.push_back(std::move(slot));
  owner_.requestDone("", status, 0.0);
}

HttpConnection::Slot* HttpConnection::findSlot(uint64_t seq) {
  if (slots_.empty() || seq < slots_.front().seq) return nullptr;
  uint64_t idx = seq - slots_.front().seq;
  if (idx >= slots_.size()) return nullptr;
  return &slots_[idx];
}

void HttpConnection::respond(uint64_t seq, Response response) {
  if (state_ == State::kClosed) return;
  Slot* slot = findSlot(seq);
  if (slot == nullptr || slot->response || slot->sse) return;
  double seconds = static_cast<double>(uv_hrtime() - slot->startNs) / 1e9;
  owner_.requestDone(slot->request ? slot->request->routeName : std::string(), response.status,
                     seconds);
  slot->response = std::move(response);
  flushSlots();
  updateTimer();
  updateReading();
}

void HttpConnection::serialize(const Slot& slot, bool closeAfter) {
  const Response& r = *slot.response;
  std::string out;
  out.reserve(256 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += reasonPhrase(r.status);
  out += "\r\n";
  bool lengthSet = false;
  for (const auto& [k, v] : r.headers.all()) {
    // Response splitting guard: a field with CR/LF is dropped, never sent.
    if (k.empty() || !safeFieldText(k) || !safeFieldText(v)) continue;
    if (equalsIgnoreCase(k, "connection") || equalsIgnoreCase(k, "transfer-encoding")) continue;
    if (equalsIgnoreCase(k, "content-length")) lengthSet = true;
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  // RFC 9110 8.6: no Content-Length in 1xx/204; 304 describes the selected representation.
  bool noBody = r.status == 204 || r.status == 304 || r.status < 200;
  if (!noBody && !lengthSet) {
    out += "Content-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  out += "Date: ";
  out += httpDate();
  out += "\r\n";
  if (closeAfter) out += "Connection: close\r\n";
  out += "\r\n";
  if (!noBody && !slot.head) out += r.body;
  sendPlain(out);
}

void HttpConnection::flushSlots() {
  while (!slots_.empty() && state_ == State::kOpen) {
    Slot& s = slots_.front();
    if (s.sse) {
      sendPlain(s.sseBytes);
      s.sseBytes.clear();
      if (!s.sseEnded) break;
      slots_.pop_front();
      draining_ = true;
      continue;
    }
    if (!s.response) break;
    bool closeAfter = !s.keepAlive || (draining_ && slots_.size() == 1);
    serialize(s, closeAfter);
    slots_.pop_front();
    ++served_;
    if (closeAfter) {
      draining_ = true;
      parser_.stop();
      slots_.clear();
    }
  }
  writeOutbox();
  if (state_ == State::kOpen && draining_ && slots_.empty()) beginClose();
}

void HttpConnection::sendPlain(std::string_view bytes) {
  if (bytes.empty() || state_ == State::kClosed) return;
  if (!tls_) {
    outbox_.append(bytes);
    return;
  }
  if (!tls_->send(bytes, outbox_)) {
    MR_LOG_DEBUG(log::get("http"), "tls {} to {}", tls_->error(), remote_);
    closeNow();
  }
}

size_t HttpConnection::backlog() const {
  return outbox_.size() + inFlightBytes_;
}

void HttpConnection::writeOutbox() {
  if (writeInFlight_ || outbox_.empty() || !tcp_) return;
  if (state_ == State::kShutdownSent || state_ == State::kClosed) return;
  auto w = std::make_unique<WriteReq>();
  w->bytes.swap(outbox_);
  w->req.data = w.get();
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp_.get()), &buf, 1, &onWrite);
  if (rc != 0) {
    closeNow();
    return;
  }
  inFlightBytes_ = w->bytes.size();
  writeInFlight_ = true;
  (void)w.release();  // owned by libuv until onWrite
}

void HttpConnection::onWrite(uv_write_t* req, int status) {
  std::unique_ptr<WriteReq> w(static_cast<WriteReq*>(req->data));
  auto* self = static_cast<HttpConnection*>(req->handle->data);
  if (self == nullptr) return;  // the handle is closing; nothing left to do
  auto keep = self->shared_from_this();
  self->writeInFlight_ = false;
  self->inFlightBytes_ = 0;
  if (status < 0) {
    self->closeNow();
    return;
  }
  self->writeOutbox();
  self->maybeShutdown();
  self->updateTimer();
  self->updateReading();
}

void HttpConnection::beginClose() {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  draining_ = true;
  parser_.stop();
  if (tls_) {
    if (!tls_->handshakeDone()) {
      closeNow();
      return;
    }
    tls_->shutdown(outbox_);
  }
  writeOutbox();
  maybeShutdown();
}

void HttpConnection::maybeShutdown() {
  if (state_ != State::kClosing || writeInFlight_ || !outbox_.empty() || !tcp_) return;
  if (peerEof_) {
    closeNow();  // both directions are done
    return;
  }
  // FIN first and keep reading briefly, so a client still sending does not get an RST that
  // destroys our last response (RFC 9112 9.6).
  auto r = std::make_unique<ShutdownReq>();
  r->req.data = r.get();
  if (uv_shutdown(&r->req, reinterpret_cast<uv_stream_t*>(tcp_.get()), &onShutdown) != 0) {
    closeNow();
    return;
  }
  (void)r.release();
  state_ = State::kShutdownSent;
  updateReading();
  updateTimer();
}

void HttpConnection::onShutdown(uv_shutdown_t* req, int status) {
  std::unique_ptr<ShutdownReq> r(static_cast<ShutdownReq*>(req->data));
  auto* self = static_cast<HttpConnection*>(req->handle->data);
  if (self == nullptr || status == 0) return;
  auto keep = self->shared_from_this();
  self->closeNow();
}

void HttpConnection::closeNow() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  parser_.stop();
  timer_.stop();
  timerKind_ = TimerKind::kNone;
  tcp_.reset();  // pending writes are cancelled; their callbacks see data == nullptr
  std::shared_ptr<detail::SseState> sse;
  if (!slots_.empty() && slots_.front().sse) sse = slots_.front().sse;
  slots_.clear();
  if (sse && sse->open) {
    sse->open = false;
    if (sse->onClosed) sse->onClosed();
  }
  owner_.connectionClosed(*this);
}

void HttpConnection::updateReading() {
  if (!tcp_ || state_ == State::kClosed) return;
  bool want = false;
  if (peerEof_) {
    want = false;
  } else if (state_ == State::kShutdownSent) {
    want = true;  // discard until the client's FIN
  } else if (state_ == State::kOpen) {
    want = slots_.size() < config_.maxPipelined && backlog() < config_.maxWriteBacklog;
  }
  if (want == reading_) return;
  auto* s = reinterpret_cast<uv_stream_t*>(tcp_.get());
  if (want) {
    if (uv_read_start(s, &onAlloc, &onRead) == 0) reading_ = true;
  } else {
    uv_read_stop(s);
    reading_ = false;
  }
}

void HttpConnection::updateTimer() {
  if (state_ == State::kClosed) return;
  TimerKind want = TimerKind::kNone;
  std::chrono::milliseconds after{0};
  std::chrono::milliseconds repeat{0};
  uint64_t wantMessage = parser_.messagesBegun();
  if (state_ == State::kShutdownSent) {
    want = TimerKind::kLinger;
    after = config_.timeouts.linger;
  } else if (!slots_.empty() && slots_.front().sse) {
    if (sseKeepAlive_.count() > 0) {
      want = TimerKind::kSseKeepAlive;
      after = repeat = sseKeepAlive_;
    }
  } else if (state_ == State::kOpen) {
    bool quiet = slots_.empty() && outbox_.empty() && !writeInFlight_;
    switch (parser_.stopped() ? RequestParser::Phase::kIdle : parser_.phase()) {
      case RequestParser::Phase::kHeaders:
        want = TimerKind::kHeader;
        after = config_.timeouts.header;
        break;
      case RequestParser::Phase::kBody:
        want = TimerKind::kBody;
        after = config_.timeouts.body;
        break;
      case RequestParser::Phase::kIdle:
        if (quiet && !draining_) {
          // A fresh connection must send its first request as fast as any header section.
          want = served_ == 0 ? TimerKind::kHeader : TimerKind::kIdle;
          after = served_ == 0 ? config_.timeouts.header : config_.timeouts.idle;
          if (served_ == 0) ++wantMessage;  // this deadline also covers that first request
        }
        break;
    }
  }
  // A running deadline is never pushed back by more bytes of the same request (slow-loris); a
  // new pipelined request gets its own.
  bool perMessage = want == TimerKind::kHeader || want == TimerKind::kBody;
  if (want == timerKind_ && (!perMessage || timerMessage_ == wantMessage)) return;
  timerKind_ = want;
  timerMessage_ = wantMessage;
  if (want == TimerKind::kNone) {
    timer_.stop();
  } else {
    timer_.start(after, repeat);
  }
}

void HttpConnection::onTimer() {
  auto keep = shared_from_this();
  TimerKind kind = timerKind_;
  if (kind != TimerKind::kSseKeepAlive) timerKind_ = TimerKind::kNone;
  switch (kind) {
    case TimerKind::kHeader:
    case TimerKind::kBody:
      if (tls_ && !tls_->handshakeDone()) {
        closeNow();
        return;
      }
      if (parser_.phase() == RequestParser::Phase::kIdle && slots_.empty()) {
        beginClose();  // nothing asked yet: no answer owed
        return;
      }
      parser_.stop();
      draining_ = true;
      addErrorSlot(408, "request_timeout", "request not received in time");
      flushSlots();
      break;
    case TimerKind::kIdle:
      beginClose();
      break;
    case TimerKind::kLinger:
      closeNow();
      return;
    case TimerKind::kSseKeepAlive:
      if (!slots_.empty()) sseWrite(slots_.front().seq, ": keep-alive\n\n");
      return;
    case TimerKind::kNone:
      return;
  }
  updateTimer();
}

bool HttpConnection::startSse(uint64_t seq, Response head, const SseOptions& options,
                              std::shared_ptr<detail::SseState> sse) {
  if (state_ != State::kOpen) return false;
  Slot* slot = findSlot(seq);
  if (slot == nullptr || slot->response || slot->sse) return false;
  double seconds = static_cast<double>(uv_hrtime() - slot->startNs) / 1e9;
  owner_.requestDone(slot->request ? slot->request->routeName : std::string(), head.status,
                     seconds);
  // The body runs until the connection closes (RFC 9112 6.3 rule 8): no Content-Length, no
  // further requests on this connection.
  draining_ = true;
  parser_.stop();
  head.headers.set("Content-Type", "text/event-stream");
  head.headers.set("Cache-Control", "no-store");
  head.headers.set("X-Accel-Buffering", "no");
  std::string out = "HTTP/1.1 200 OK\r\n";
  for (const auto& [k, v] : head.headers.all()) {
    if (k.empty() || !safeFieldText(k) || !safeFieldText(v)) continue;
    if (equalsIgnoreCase(k, "content-length") || equalsIgnoreCase(k, "connection")) continue;
    out += k + ": " + v + "\r\n";
  }
  out += "Date: " + httpDate() + "\r\nConnection: close\r\n\r\n";
  if (options.retryMs) out += "retry: " + std::to_string(*options.retryMs) + "\n\n";
  slot->sse = std::move(sse);
  slot->sseBytes = std::move(out);
  sseKeepAlive_ = options.keepAliveInterval;
  // Anything pipelined after this request is never answered: drop it.
  while (slots_.size() > 0 && &slots_.back() != slot) slots_.pop_back();
  flushSlots();
  updateTimer();
  updateReading();
  return state_ != State::kClosed;
}

bool HttpConnection::sseWrite(uint64_t seq, std::string_view bytes) {
  if (state_ != State::kOpen) return false;
  Slot* slot = findSlot(seq);
  if (slot == nullptr || !slot->sse || slot->sseEnded) return false;
  if (backlog() + bytes.size() > config_.maxWriteBacklog) {
    MR_LOG_DEBUG(log::get("http"), "SSE client {} too slow; closing", remote_);
    closeNow();
    return false;
  }
  slot->sseBytes.append(bytes);
  flushSlots();
  return state_ == State::kOpen;
}

void HttpConnection::sseClose(uint64_t seq) {
  Slot* slot = findSlot(seq);
  if (slot == nullptr || !slot->sse) return;
  slot->sseEnded = true;
  flushSlots();
  updateTimer();
}

detail::ResponderState::~ResponderState() {
  if (done) return;
  if (sink) {
    sink(Response::error(500, "internal", "no response"));
    return;
  }
  if (dispatcher->isLoopThread()) {
    if (auto c = conn.lock()) c->respond(seq, Response::error(500, "internal", "no response"));
    return;
  }
  dispatcher->post([c = conn, s = seq] {
    if (auto locked = c.lock()) locked->respond(s, Response::error(500, "internal", "no response"));
  });
}

}  // namespace medrelay::net::http
