#include "net/ice_tcp_listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/socket_util.h"
#include "net/tcp_framing.h"

namespace medrelay::net {

struct IceTcpListener::Connection {
  IceTcpListener* owner = nullptr;
  uint32_t id = 0;
  int fd = -1;
  SocketAddress remote;
  UvHandle<uv_poll_t> poll;
  std::vector<uint8_t> in;  // 2 + maxFrame bytes: any frame fits
  size_t inLen = 0;
  std::vector<uint8_t> out;  // bytes the kernel did not take yet
  size_t outOff = 0;
  uint64_t acceptedMs = 0;
  bool authenticated = false;
  bool closed = false;
  bool inEvent = false;
  int pollEvents = 0;

  ~Connection() {
    if (poll && poll.get()->loop != nullptr) uv_poll_stop(poll.get());
    poll.reset();
    if (fd >= 0) ::close(fd);
  }
};

Result<std::unique_ptr<IceTcpListener>> IceTcpListener::open(Dispatcher& dispatcher,
                                                             const Options& options,
                                                             Callbacks& callbacks) {
  if (!options.bind.valid()) return makeError("bad_address", "TCP bind address is not IP");
  if (options.maxFrame == 0 || options.maxFrame > kMaxFrameSize) {
    return makeError("bad_options", "maxFrame must be 1..65535");
  }
  std::unique_ptr<IceTcpListener> l(new IceTcpListener(dispatcher, options, callbacks));
  if (auto r = l->init(); !r) return r.error();
  return l;
}

IceTcpListener::IceTcpListener(Dispatcher& dispatcher, const Options& options, Callbacks& callbacks)
    : dispatcher_(dispatcher),
      options_(options),
      callbacks_(callbacks),
      idleTimer_(dispatcher, [this] { sweepIdle(); }) {}

Result<void> IceTcpListener::init() {
  auto fd = listenTcp(options_.bind, options_.backlog, local_);
  if (!fd) return fd.error();
  fd_ = fd.value();
  if (uv_poll_init(dispatcher_.loop(), poll_.get(), fd_) != 0) {
    return makeError("socket_error", "uv_poll_init failed");
  }
  poll_.get()->data = this;
  uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* h, int status, int) {
    auto* self = static_cast<IceTcpListener*>(h->data);
    if (self != nullptr && status == 0) self->onAcceptable();
  });
  const auto period =
      std::max<std::chrono::milliseconds>(options_.idleTimeout / 4, std::chrono::milliseconds(1));
  idleTimer_.start(period, period);
  return {};
}

IceTcpListener::~IceTcpListener() {
  connections_.clear();  // no callbacks: the owner is going away
  if (poll_ && poll_.get()->loop != nullptr) uv_poll_stop(poll_.get());
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void IceTcpListener::onAcceptable() {
  for (;;) {
    SocketAddress from;
    socklen_t len = SocketAddress::capacity();
    const int cfd = ::accept4(fd_, from.mutableSockaddr(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) return;  // EAGAIN, or a transient error (EMFILE, ECONNABORTED): try next wakeup
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
    c->in.resize(kFrameHeaderSize + options_.maxFrame);
    c->acceptedMs = dispatcher_.nowMs();
    uv_poll_init(dispatcher_.loop(), c->poll.get(), cfd);
    c->poll.get()->data = c.get();
    ++counters_.accepted;
    Connection& ref = *c;
    connections_.emplace(c->id, std::move(c));
    updatePoll(ref);
  }
}

void IceTcpListener::updatePoll(Connection& c) {
  const int want = UV_READABLE | (c.out.size() > c.outOff ? UV_WRITABLE : 0);
  if (want == c.pollEvents) return;
  c.pollEvents = want;
  uv_poll_start(c.poll.get(), want, [](uv_poll_t* h, int status, int events) {
    auto* conn = static_cast<Connection*>(h->data);
    if (conn != nullptr) conn->owner->onConnectionEvent(*conn, status, events);
  });
}

void IceTcpListener::onConnectionEvent(Connection& c, int status, int events) {
  c.inEvent = true;
  if (status < 0) {
    markClosed(c, CloseReason::kError);
  } else {
    if (events & UV_WRITABLE) onWritable(c);
    if (!c.closed && (events & UV_READABLE)) onReadable(c);
  }
  c.inEvent = false;
  // Destroyed only here, after the last use of c (house style: never inside its own callback).
  if (c.closed) destroy(c.id);
}

void IceTcpListener::onReadable(Connection& c) {
  for (;;) {
    const ssize_t n = ::read(c.fd, c.in.data() + c.inLen, c.in.size() - c.inLen);
    if (n == 0) {
      markClosed(c, CloseReason::kPeer);
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      markClosed(c, CloseReason::kError);
      return;
    }
    c.inLen += static_cast<size_t>(n);
    const auto r = deframe(std::span<uint8_t>(c.in.data(), c.inLen), options_.maxFrame,
                           [&](uint8_t* frame, size_t len) {
                             ++counters_.framesIn;
                             counters_.bytesIn += len;
                             callbacks_.onFrame(c.id, c.remote, frame, len);
                             return !c.closed;
                           });
    if (r.status == DeframeStatus::kOversize) {
      markClosed(c, CloseReason::kOversize);
      return;
    }
    if (c.closed) return;
    if (r.consumed > 0) {
      std::memmove(c.in.data(), c.in.data() + r.consumed, c.inLen - r.consumed);
      c.inLen -= r.consumed;
    }
  }
}

void IceTcpListener::onWritable(Connection& c) {
  while (c.outOff < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.outOff, c.out.size() - c.outOff, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      markClosed(c, CloseReason::kError);
      return;
    }
    c.outOff += static_cast<size_t>(n);
  }
  if (c.outOff == c.out.size()) {
    c.out.clear();  // keeps its capacity
    c.outOff = 0;
  }
  updatePoll(c);
}

bool IceTcpListener::sendFrame(uint32_t connectionId, const uint8_t* data, size_t len) {
  const auto it = connections_.find(connectionId);
  if (it == connections_.end() || it->second->closed) {
    ++counters_.sendDropNoConnection;
    return false;
  }
  if (len == 0 || len > kMaxFrameSize) {
    ++counters_.sendDropTooLarge;
    return false;
  }
  Connection& c = *it->second;
  uint8_t hdr[kFrameHeaderSize];
  writeFrameHeader(hdr, len);
  const size_t total = kFrameHeaderSize + len;
  size_t written = 0;
  if (c.out.size() == c.outOff) {
    iovec iov[2] = {{hdr, kFrameHeaderSize}, {const_cast<uint8_t*>(data), len}};
    const ssize_t n = ::writev(c.fd, iov, 2);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      markClosed(c, CloseReason::kError);
      if (!c.inEvent) destroy(c.id);
      ++counters_.sendDropNoConnection;
      return false;
    }
    written = n > 0 ? static_cast<size_t>(n) : 0;
  } else if (c.out.size() - c.outOff + total > options_.maxQueuedBytes) {
    ++counters_.sendDropQueueFull;
    return false;
  }
  ++counters_.framesOut;
  counters_.bytesOut += len;
  if (written == total) return true;
  // The rest of a partly written frame must be queued, or the stream loses its framing.
  if (written < kFrameHeaderSize) c.out.insert(c.out.end(), hdr + written, hdr + kFrameHeaderSize);
  const size_t dataOff = written > kFrameHeaderSize ? written - kFrameHeaderSize : 0;
  c.out.insert(c.out.end(), data + dataOff, data + len);
  updatePoll(c);
  return true;
}

void IceTcpListener::markAuthenticated(uint32_t connectionId) {
  const auto it = connections_.find(connectionId);
  if (it != connections_.end()) it->second->authenticated = true;
}

void IceTcpListener::close(uint32_t connectionId) {
  const auto it = connections_.find(connectionId);
  if (it == connections_.end() || it->second->closed) return;
  Connection& c = *it->second;
  markClosed(c, CloseReason::kLocal);
  if (!c.inEvent) destroy(connectionId);
}

void IceTcpListener::markClosed(Connection& c, CloseReason reason) {
  if (c.closed) return;
  c.closed = true;
  switch (reason) {
    case CloseReason::kPeer:
      ++counters_.closedByPeer;
      break;
    case CloseReason::kError:
      ++counters_.closedError;
      break;
    case CloseReason::kIdle:
      ++counters_.closedIdle;
      break;
    case CloseReason::kOversize:
      ++counters_.closedOversize;
      break;
    case CloseReason::kLocal:
      break;
  }
  uv_poll_stop(c.poll.get());
}

void IceTcpListener::destroy(uint32_t id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  std::unique_ptr<Connection> c = std::move(it->second);
  connections_.erase(it);
  callbacks_.onConnectionClosed(id, c->remote);
}

void IceTcpListener::sweepIdle() {
  const uint64_t now = dispatcher_.nowMs();
  const auto limit = static_cast<uint64_t>(options_.idleTimeout.count());
  // Collected first: onConnectionClosed() may close other connections.
  idleIds_.clear();
  for (const auto& [id, c] : connections_) {
    if (!c->authenticated && !c->closed && now - c->acceptedMs >= limit) idleIds_.push_back(id);
  }
  for (const uint32_t id : idleIds_) {
    const auto it = connections_.find(id);
    if (it == connections_.end() || it->second->closed) continue;
    markClosed(*it->second, CloseReason::kIdle);
    destroy(id);
  }
}

}  // namespace medrelay::net
