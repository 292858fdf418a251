#include "net/turn/turn_stream_listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/be_bytes.h"
#include "net/socket_util.h"
#include "net/stun/stun_message.h"
#include "net/tls/tls_session.h"
#include "net/turn/channel_numbers.h"

namespace medrelay::net::turn {

namespace {
constexpr size_t kMaxMessage = 65535 + 4 + 3;  // the largest ChannelData frame
}  // namespace

struct TurnStreamListener::Connection {
  TurnStreamListener* owner = nullptr;
  uint32_t id = 0;
  int fd = -1;
  SocketAddress remote;
  UvHandle<uv_poll_t> poll;
  std::unique_ptr<TlsSession> tls;
  std::vector<uint8_t> in;  // plaintext not yet framed
  std::string plain;        // TLS scratch
  std::string wire;         // TLS scratch
  std::vector<uint8_t> out;
  size_t outOff = 0;
  uint64_t lastInMs = 0;
  bool closed = false;
  bool inEvent = false;
  int pollEvents = 0;

  ~Connection() {
    if (poll && poll.get()->loop != nullptr) uv_poll_stop(poll.get());
    poll.reset();
    if (fd >= 0) ::close(fd);
  }
};

std::optional<size_t> TurnStreamListener::nextFrameSize(std::span<const uint8_t> buf) {
  if (buf.size() < 4) return 0;
  if ((buf[0] & 0xC0) == 0x40) return channelFrameSize(buf);
  if ((buf[0] & 0xC0) != 0) return std::nullopt;
  if (buf.size() < stun::kHeaderSize) return 0;
  return stun::stunMessageSize(buf);
}

Result<std::unique_ptr<TurnStreamListener>> TurnStreamListener::open(Dispatcher& dispatcher,
                                                                     const Options& options,
                                                                     Callbacks& callbacks) {
  if (!options.bind.valid()) return makeError("bad_address", "TURN bind address is not IP");
  std::unique_ptr<TurnStreamListener> l(new TurnStreamListener(dispatcher, options, callbacks));
  if (auto r = l->init(); !r) return r.error();
  return l;
}

TurnStreamListener::TurnStreamListener(Dispatcher& dispatcher, const Options& options,
                                       Callbacks& callbacks)
    : dispatcher_(dispatcher),
      options_(options),
      callbacks_(callbacks),
      idleTimer_(dispatcher, [this] { sweepIdle(); }) {}

Result<void> TurnStreamListener::init() {
  auto fd = listenTcp(options_.bind, options_.backlog, local_);
  if (!fd) return fd.error();
  fd_ = fd.value();
  if (uv_poll_init(dispatcher_.loop(), poll_.get(), fd_) != 0) {
    return makeError("socket_error", "uv_poll_init failed");
  }
  poll_.get()->data = this;
  uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* h, int status, int) {
    auto* self = static_cast<TurnStreamListener*>(h->data);
    if (self != nullptr && status == 0) self->onAcceptable();
  });
  const auto period = std::clamp<std::chrono::milliseconds>(
      options_.idleTimeout / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  idleTimer_.start(period, period);
  return {};
}

TurnStreamListener::~TurnStreamListener() {
  connections_.clear();
  if (poll_ && poll_.get()->loop != nullptr) uv_poll_stop(poll_.get());
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void TurnStreamListener::onAcceptable() {
  for (;;) {
    SocketAddress from;
    socklen_t len = SocketAddress::capacity();
    const int cfd = ::accept4(fd_, from.mutableSockaddr(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) return;
    if (connections_.size() >= options_.maxConnections) {
      ++counters_.rejectedLimit;
      ::close(cfd);
      continue;
    }
    const int on = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    auto c = std::make_unique<Connection>();
    c->owner = this;
    c->id = nextId_++;
    if (nextId_ == 0) nextId_ = 1;
    c->fd = cfd;
    c->remote = from;
    c->lastInMs = dispatcher_.nowMs();
    if (options_.tls) {
      auto ssl = options_.tls->newSsl();
      if (!ssl) {
        ++counters_.tlsFailures;
        continue;  // c closes cfd
      }
      c->tls = std::make_unique<TlsSession>(std::move(ssl));
    }
    uv_poll_init(dispatcher_.loop(), c->poll.get(), cfd);
    c->poll.get()->data = c.get();
    ++counters_.accepted;
    Connection& ref = *c;
    connections_.emplace(c->id, std::move(c));
    updatePoll(ref);
  }
}

void TurnStreamListener::updatePoll(Connection& c) {
  const int want = UV_READABLE | (c.out.size() > c.outOff ? UV_WRITABLE : 0);
  if (want == c.pollEvents) return;
  c.pollEvents = want;
  uv_poll_start(c.poll.get(), want, [](uv_poll_t* h, int status, int events) {
    auto* conn = static_cast<Connection*>(h->data);
    if (conn != nullptr) conn->owner->onEvent(*conn, status, events);
  });
}

void TurnStreamListener::onEvent(Connection& c, int status, int events) {
  c.inEvent = true;
  if (status < 0) {
    ++counters_.closedError;
    c.closed = true;
  } else {
    if (events & UV_WRITABLE) flushOut(c);
    if (!c.closed && (events & UV_READABLE)) onReadable(c);
  }
  c.inEvent = false;
  if (c.closed) destroy(c.id);  // never inside a deeper callback (house style 4)
}

void TurnStreamListener::onReadable(Connection& c) {
  uint8_t buf[16384];
  for (;;) {
    const ssize_t n = ::read(c.fd, buf, sizeof(buf));
    if (n == 0) {
      ++counters_.closedByPeer;
      c.closed = true;
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      ++counters_.closedError;
      c.closed = true;
      return;
    }
    c.lastInMs = dispatcher_.nowMs();
    if (c.tls) {
      c.plain.clear();
      c.wire.clear();
      const bool ok = c.tls->receive(
          std::string_view(reinterpret_cast<const char*>(buf), static_cast<size_t>(n)), c.plain,
          c.wire);
      if (!c.wire.empty()) {
        writeWire(c, reinterpret_cast<const uint8_t*>(c.wire.data()), c.wire.size());
      }
      if (!ok || c.tls->peerClosed()) {
        if (!ok) ++counters_.tlsFailures;
        c.closed = true;
        return;
      }
      c.in.insert(c.in.end(), c.plain.begin(), c.plain.end());
    } else {
      c.in.insert(c.in.end(), buf, buf + n);
    }
    if (!deliverPlain(c)) return;
  }
}

bool TurnStreamListener::deliverPlain(Connection& c) {
  size_t off = 0;
  while (!c.closed) {
    const auto size = nextFrameSize(std::span<const uint8_t>(c.in).subspan(off));
    if (!size || *size > kMaxMessage) {
      ++counters_.closedBadFrame;  // lost framing: the stream cannot recover (RFC 8656 §12.5)
      c.closed = true;
      return false;
    }
    if (*size == 0 || c.in.size() - off < *size) break;
    ++counters_.messagesIn;
    callbacks_.onMessage(c.id, c.remote, c.in.data() + off, *size);
    off += *size;
  }
  c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
  return !c.closed;
}

bool TurnStreamListener::writeWire(Connection& c, const uint8_t* data, size_t len) {
  if (c.out.size() - c.outOff + len > options_.maxQueuedBytes) {
    ++counters_.sendDropped;
    return false;
  }
  size_t written = 0;
  if (c.out.size() == c.outOff) {
    const ssize_t n = ::send(c.fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      ++counters_.closedError;
      c.closed = true;
      return false;
    }
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  if (written < len) {
    c.out.insert(c.out.end(), data + written, data + len);
    updatePoll(c);
  }
  return true;
}

void TurnStreamListener::flushOut(Connection& c) {
  while (c.outOff < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.outOff, c.out.size() - c.outOff, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      ++counters_.closedError;
      c.closed = true;
      return;
    }
    c.outOff += static_cast<size_t>(n);
  }
  if (c.outOff == c.out.size()) {
    c.out.clear();
    c.outOff = 0;
  }
  updatePoll(c);
}

bool TurnStreamListener::send(uint32_t connectionId, const uint8_t* data, size_t len) {
  const auto it = connections_.find(connectionId);
  if (it == connections_.end() || it->second->closed) {
    ++counters_.sendDropped;
    return false;
  }
  Connection& c = *it->second;
  bool ok = false;
  if (c.tls) {
    c.wire.clear();
    if (c.tls->send(std::string_view(reinterpret_cast<const char*>(data), len), c.wire)) {
      ok = c.wire.empty() ||
           writeWire(c, reinterpret_cast<const uint8_t*>(c.wire.data()), c.wire.size());
    }
  } else {
    ok = writeWire(c, data, len);
  }
  // A write error outside an event: destroyed by the next sweep, not here (the caller may be an
  // allocation's relay callback that the close would tear down).
  if (c.closed && !c.inEvent) uv_poll_stop(c.poll.get());
  return ok;
}

void TurnStreamListener::close(uint32_t connectionId) {
  const auto it = connections_.find(connectionId);
  if (it == connections_.end()) return;
  it->second->closed = true;
  if (!it->second->inEvent) destroy(connectionId);
}

void TurnStreamListener::destroy(uint32_t id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  std::unique_ptr<Connection> c = std::move(it->second);
  connections_.erase(it);
  callbacks_.onConnectionClosed(id, c->remote);
}

void TurnStreamListener::sweepIdle() {
  const uint64_t now = dispatcher_.nowMs();
  const auto limit = static_cast<uint64_t>(options_.idleTimeout.count());
  std::vector<uint32_t> idle;
  for (const auto& [id, c] : connections_) {
    if (!c->inEvent && (c->closed || now - c->lastInMs >= limit)) idle.push_back(id);
  }
  for (const uint32_t id : idle) {
    const auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    if (!it->second->closed) ++counters_.closedIdle;
    destroy(id);
  }
}

}  // namespace medrelay::net::turn
