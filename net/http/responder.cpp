#include "net/http/responder.h"

#include "net/http/http_connection.h"

namespace medrelay::net::http {

namespace {

void applyDefaults(const Headers& defaults, Headers& headers) {
  for (const auto& [k, v] : defaults.all()) {
    if (!headers.has(k)) headers.add(k, v);
  }
}

// Field text for "event:"/"id:" must stay on one line.
std::string oneLine(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c != '\r' && c != '\n' && c != '\0') out.push_back(c);
  }
  return out;
}

}  // namespace

void Responder::send(Response response) {
  auto& st = *state_;
  if (st.done) return;
  st.done = true;
  applyDefaults(st.defaults, response.headers);
  if (st.sink) {
    st.sink(std::move(response));
    return;
  }
  if (!st.dispatcher->isLoopThread()) {
    st.dispatcher->post([c = st.conn, s = st.seq, r = std::move(response)]() mutable {
      if (auto locked = c.lock()) locked->respond(s, std::move(r));
    });
    return;
  }
  if (auto c = st.conn.lock()) c->respond(st.seq, std::move(response));
}

SseStream Responder::startSse(const SseOptions& options) {
  auto& st = *state_;
  if (st.done) return SseStream();
  st.done = true;
  auto c = st.conn.lock();
  if (!c) return SseStream();
  auto sse = std::make_shared<detail::SseState>();
  sse->conn = st.conn;
  sse->seq = st.seq;
  Response head = Response::empty(200);
  applyDefaults(st.defaults, head.headers);
  if (!c->startSse(st.seq, std::move(head), options, sse)) sse->open = false;
  return SseStream(sse);
}

Responder Responder::toCallback(std::function<void(Response)> sink) {
  auto st = std::make_shared<detail::ResponderState>(std::weak_ptr<HttpConnection>(), 0, nullptr);
  st->sink = std::move(sink);
  return Responder(std::move(st));
}

bool Responder::responded() const {
  return state_->done;
}

bool Responder::connected() const {
  auto c = state_->conn.lock();
  return c && !c->closed();
}

void Responder::setDefaultHeader(std::string name, std::string value) {
  state_->defaults.set(std::move(name), std::move(value));
}

bool SseStream::send(std::string_view event, std::string_view data, std::string_view id) {
  if (!open()) return false;
  std::string out;
  out.reserve(data.size() + event.size() + id.size() + 32);
  if (!event.empty()) out += "event: " + oneLine(event) + "\n";
  if (!id.empty()) out += "id: " + oneLine(id) + "\n";
  // Each line of data becomes its own "data:" line; CRLF, CR and LF all end a line.
  size_t start = 0;
  for (size_t i = 0; i <= data.size(); ++i) {
    if (i == data.size() || data[i] == '\n' || data[i] == '\r') {
      out += "data: ";
      out.append(data.substr(start, i - start));
      out += "\n";
      if (i < data.size() && data[i] == '\r' && i + 1 < data.size() && data[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  out += "\n";
  auto c = state_->conn.lock();
  return c && c->sseWrite(state_->seq, out);
}

bool SseStream::comment(std::string_view text) {
  if (!open()) return false;
  auto c = state_->conn.lock();
  return c && c->sseWrite(state_->seq, ": " + oneLine(text) + "\n\n");
}

void SseStream::close() {
  if (!open()) return;
  state_->open = false;
  state_->appClosed = true;
  if (auto c = state_->conn.lock()) c->sseClose(state_->seq);
}

bool SseStream::open() const {
  if (!state_ || !state_->open) return false;
  auto c = state_->conn.lock();
  return c && !c->closed();
}

void SseStream::onClosed(std::function<void()> cb) {
  if (!state_) return;
  if (!open() && !state_->appClosed) {
    cb();  // already gone before anyone listened
    return;
  }
  state_->onClosed = std::move(cb);
}

}  // namespace medrelay::net::http
