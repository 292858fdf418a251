#include "net/stream_listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "net/socket_util.h"
#include "net/tls/tls_session.h"

namespace medrelay::net {

namespace {

constexpr size_t kInitialInput = 4096;  // most packets are smaller; the buffer grows for others
constexpr size_t kTlsReadSize = 16384;  // one TLS record (RFC 8446 §5.1)

bool wouldBlock() {
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

std::string_view chars(const uint8_t* data, size_t len) {
  return {reinterpret_cast<const char*>(data), len};
}

}  // namespace

struct StreamListener::Connection {
  StreamListener* owner = nullptr;
  uint32_t id = 0;
  int fd = -1;
  SocketAddress remote;
  UvHandle<uv_poll_t> poll;
  std::unique_ptr<TlsSession> tls;
  std::vector<uint8_t> in;  // received (plaintext) bytes; the first inLen are not framed yet
  size_t inLen = 0;
  std::string plain;         // TLS scratch: decrypted bytes
  std::string wire;          // TLS scratch: bytes for the peer
  std::vector<uint8_t> out;  // bytes the kernel did not take yet, from outOff
  size_t outOff = 0;
  uint64_t idleSinceMs = 0;
  bool authenticated = false;
  bool closed = false;
  bool inEvent = false;
  int pollEvents = 0;

  size_t queued() const { return out.size() - outOff; }

  ~Connection() {
    if (poll && poll.get()->loop != nullptr) uv_poll_stop(poll.get());
    poll.reset();
    if (fd >= 0) ::close(fd);
  }
};

Result<std::unique_ptr<StreamListener>> StreamListener::open(Dispatcher& dispatcher,
                                                             const Options& options,
                                                             Callbacks& callbacks) {
  if (!options.bind.valid()) return makeError("bad_address", "TCP bind address is not IP");
  if (!options.framing || options.framing->maxFrameSize() == 0) {
    return makeError("bad_options", "a stream listener needs a framing");
  }
  std::unique_ptr<StreamListener> l(new StreamListener(dispatcher, options, callbacks));
  if (auto r = l->init(); !r) return r.error();
  return l;
}

StreamListener::StreamListener(Dispatcher& dispatcher, const Options& options, Callbacks& callbacks)
    : dispatcher_(dispatcher),
      options_(options),
      callbacks_(callbacks),
      idleTimer_(dispatcher, [this] { sweepIdle(); }),
      reapTimer_(dispatcher, [this] { reapClosed(); }) {}

Result<void> StreamListener::init() {
  auto fd = listenTcp(options_.bind, options_.backlog, local_);
  if (!fd) return fd.error();
  fd_ = fd.value();
  if (uv_poll_init(dispatcher_.loop(), poll_.get(), fd_) != 0) {
    return makeError("socket_error", "uv_poll_init failed");
  }
  poll_.get()->data = this;
  uv_poll_start(poll_.get(), UV_READABLE, [](uv_poll_t* h, int status, int) {
    auto* self = static_cast<StreamListener*>(h->data);
    if (self != nullptr && status == 0) self->onAcceptable();
  });
  const auto period = std::clamp<std::chrono::milliseconds>(
      options_.idleTimeout / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
  idleTimer_.start(period, period);
  return {};
}

StreamListener::~StreamListener() {
  connections_.clear();  // no callbacks: the owner is going away
  if (poll_ && poll_.get()->loop != nullptr) uv_poll_stop(poll_.get());
  poll_.reset();
  if (fd_ >= 0) ::close(fd_);
}

void StreamListener::onAcceptable() {
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
    c->idleSinceMs = dispatcher_.nowMs();
    if (options_.tls) {
      auto ssl = options_.tls->newSsl();
      if (!ssl) {
        ++counters_.tlsFailures;
        continue;  // c closes cfd
      }
      c->tls = std::make_unique<TlsSession>(std::move(ssl));
    }
    c->in.resize(std::min(kInitialInput, options_.framing->maxFrameSize()));
    uv_poll_init(dispatcher_.loop(), c->poll.get(), cfd);
    c->poll.get()->data = c.get();
    ++counters_.accepted;
    Connection& ref = *c;
    connections_.emplace(c->id, std::move(c));
    updatePoll(ref);
  }
}

void StreamListener::updatePoll(Connection& c) {
  if (c.closed) return;
  const int want = UV_READABLE | (c.queued() > 0 ? UV_WRITABLE : 0);
  if (want == c.pollEvents) return;
  c.pollEvents = want;
  uv_poll_start(c.poll.get(), want, [](uv_poll_t* h, int status, int events) {
    auto* conn = static_cast<Connection*>(h->data);
    if (conn != nullptr) conn->owner->onConnectionEvent(*conn, status, events);
  });
}

void StreamListener::onConnectionEvent(Connection& c, int status, int events) {
  c.inEvent = true;
  if (status < 0) {
    markClosed(c, CloseReason::kError);
  } else {
    if (events & UV_WRITABLE) onWritable(c);
    if (!c.closed && (events & UV_READABLE)) onReadable(c);
  }
  c.inEvent = false;
  // Destroyed only here, after the last use of c: never inside its own callback, which is still
  // on the stack.
  if (c.closed) destroy(c.id);
}

void StreamListener::onReadable(Connection& c) {
  uint8_t tlsIn[kTlsReadSize];
  for (;;) {
    if (!c.tls && !makeRoom(c)) return;
    uint8_t* dst = c.tls ? tlsIn : c.in.data() + c.inLen;
    const size_t room = c.tls ? sizeof(tlsIn) : c.in.size() - c.inLen;
    const ssize_t n = ::read(c.fd, dst, room);
    if (n == 0) {
      markClosed(c, CloseReason::kPeer);
      return;
    }
    if (n < 0) {
      if (!wouldBlock()) markClosed(c, CloseReason::kError);
      return;
    }
    if (options_.idleRule == IdleRule::kSinceLastReceive) c.idleSinceMs = dispatcher_.nowMs();
    if (c.tls) {
      if (!receiveTls(c, tlsIn, static_cast<size_t>(n))) return;
    } else {
      c.inLen += static_cast<size_t>(n);
      if (!deliver(c)) return;
    }
  }
}

bool StreamListener::receiveTls(Connection& c, const uint8_t* data, size_t len) {
  c.plain.clear();
  c.wire.clear();
  const bool ok = c.tls->receive(chars(data, len), c.plain, c.wire);
  // Handshake messages and alerts are never dropped: the TLS stream would break.
  if (!c.wire.empty()) {
    write(c, nullptr, 0, reinterpret_cast<const uint8_t*>(c.wire.data()), c.wire.size());
  }
  if (!ok) {
    markClosed(c, CloseReason::kTls);
    return false;
  }
  if (c.tls->peerClosed()) {
    markClosed(c, CloseReason::kPeer);
    return false;
  }
  size_t off = 0;
  while (off < c.plain.size() && !c.closed) {
    if (!makeRoom(c)) return false;
    const size_t n = std::min(c.plain.size() - off, c.in.size() - c.inLen);
    std::memcpy(c.in.data() + c.inLen, c.plain.data() + off, n);
    c.inLen += n;
    off += n;
    if (!deliver(c)) return false;
  }
  return !c.closed;
}

// Room for at least one more byte. The buffer doubles up to the framing's largest frame, which
// deliver() has always taken out of a full buffer; a full buffer of that size is a broken
// framing contract, closed as a bad frame.
bool StreamListener::makeRoom(Connection& c) {
  if (c.inLen < c.in.size()) return true;
  const size_t max = options_.framing->maxFrameSize();
  if (c.in.size() >= max) {
    markClosed(c, CloseReason::kBadFrame);
    return false;
  }
  c.in.resize(std::min(max, std::max<size_t>(c.in.size() * 2, 1)));
  return true;
}

bool StreamListener::deliver(Connection& c) {
  const auto r = deframe(*options_.framing, std::span<uint8_t>(c.in.data(), c.inLen),
                         [&](uint8_t* packet, size_t len) {
                           ++counters_.framesIn;
                           counters_.bytesIn += len;
                           callbacks_.onFrame(c.id, c.remote, packet, len);
                           return !c.closed;
                         });
  if (r.status == DeframeStatus::kOversize) {
    markClosed(c, CloseReason::kOversize);
    return false;
  }
  if (r.status == DeframeStatus::kInvalid) {
    // The stream cannot be resynchronised (RFC 8656 §12.5 for TURN; RFC 4571 has no markers).
    markClosed(c, CloseReason::kBadFrame);
    return false;
  }
  if (c.closed) return false;
  if (r.consumed > 0) {
    std::memmove(c.in.data(), c.in.data() + r.consumed, c.inLen - r.consumed);
    c.inLen -= r.consumed;
  }
  return true;
}

// Writes head + data, or queues what the kernel does not take (all of it behind a queue): a
// frame is never cut, or the stream would lose its framing. False on a write error.
bool StreamListener::write(Connection& c, const uint8_t* head, size_t headLen, const uint8_t* data,
                           size_t len) {
  size_t written = 0;
  if (c.queued() == 0) {
    iovec iov[2] = {{const_cast<uint8_t*>(head), headLen}, {const_cast<uint8_t*>(data), len}};
    msghdr m{};
    m.msg_iov = headLen > 0 ? iov : iov + 1;
    m.msg_iovlen = headLen > 0 ? 2 : 1;
    const ssize_t n = ::sendmsg(c.fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && !wouldBlock()) {
      markClosed(c, CloseReason::kError);
      return false;
    }
    written = n > 0 ? static_cast<size_t>(n) : 0;
  }
  if (written == headLen + len) return true;
  if (written < headLen) c.out.insert(c.out.end(), head + written, head + headLen);
  const size_t dataOff = written > headLen ? written - headLen : 0;
  c.out.insert(c.out.end(), data + dataOff, data + len);
  updatePoll(c);
  return true;
}

void StreamListener::onWritable(Connection& c) {
  while (c.queued() > 0) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.outOff, c.queued(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (wouldBlock()) break;
      markClosed(c, CloseReason::kError);
      return;
    }
    c.outOff += static_cast<size_t>(n);
  }
  if (c.queued() == 0) {
    c.out.clear();  // keeps its capacity
    c.outOff = 0;
  } else if (c.outOff > c.out.size() / 2) {
    // A backlog that never drains completely must not make the buffer grow without bound.
    c.out.erase(c.out.begin(), c.out.begin() + static_cast<std::ptrdiff_t>(c.outOff));
    c.outOff = 0;
  }
  updatePoll(c);
}

bool StreamListener::send(uint32_t connectionId, const uint8_t* data, size_t len) {
  const auto it = connections_.find(connectionId);
  if (it == connections_.end() || it->second->closed) {
    ++counters_.sendDropNoConnection;
    return false;
  }
  uint8_t head[StreamFraming::kMaxHeaderSize];
  const auto headLen = options_.framing->writeHeader(len, head);
  if (!headLen) {
    ++counters_.sendDropTooLarge;
    return false;
  }
  Connection& c = *it->second;
  // A peer that does not read loses whole frames rather than getting them late (media).
  if (c.queued() > 0 && c.queued() + *headLen + len > options_.maxQueuedBytes) {
    ++counters_.sendDropQueueFull;
    return false;
  }
  bool ok = false;
  if (c.tls) {
    c.wire.clear();
    ok = (*headLen == 0 || c.tls->send(chars(head, *headLen), c.wire)) &&
         c.tls->send(chars(data, len), c.wire);
    if (!ok) {
      markClosed(c, CloseReason::kTls);
    } else if (!c.wire.empty()) {  // empty while the handshake is still running
      ok = write(c, nullptr, 0, reinterpret_cast<const uint8_t*>(c.wire.data()), c.wire.size());
    }
  } else {
    ok = write(c, head, *headLen, data, len);
  }
  if (!ok) {
    ++counters_.sendDropNoConnection;
    return false;
  }
  ++counters_.framesOut;
  counters_.bytesOut += len;
  return true;
}

void StreamListener::markAuthenticated(uint32_t connectionId) {
  const auto it = connections_.find(connectionId);
  if (it != connections_.end()) it->second->authenticated = true;
}

void StreamListener::close(uint32_t connectionId) {
  const auto it = connections_.find(connectionId);
  if (it == connections_.end() || it->second->closed) return;
  Connection& c = *it->second;
  markClosed(c, CloseReason::kLocal);
  if (!c.inEvent) destroy(connectionId);
}

void StreamListener::markClosed(Connection& c, CloseReason reason) {
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
    case CloseReason::kBadFrame:
      ++counters_.closedBadFrame;
      break;
    case CloseReason::kTls:
      ++counters_.tlsFailures;
      break;
    case CloseReason::kLocal:
      break;
  }
  uv_poll_stop(c.poll.get());
  // Outside an event (a failed send()): the owner's callback may be on the stack; the loop's
  // next iteration destroys the connection. Inside one, onConnectionEvent() does.
  if (!c.inEvent) reapTimer_.start(std::chrono::milliseconds(0));
}

void StreamListener::destroy(uint32_t id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) return;
  std::unique_ptr<Connection> c = std::move(it->second);
  connections_.erase(it);
  callbacks_.onConnectionClosed(id, c->remote);
}

void StreamListener::reapClosed() {
  // Collected first: onConnectionClosed() may close other connections.
  closingIds_.clear();
  for (const auto& [id, c] : connections_) {
    if (c->closed && !c->inEvent) closingIds_.push_back(id);
  }
  for (const uint32_t id : closingIds_) destroy(id);
}

void StreamListener::sweepIdle() {
  reapClosed();
  const uint64_t now = dispatcher_.nowMs();
  const auto limit = static_cast<uint64_t>(options_.idleTimeout.count());
  const bool exemptAuthenticated = options_.idleRule == IdleRule::kUntilAuthenticated;
  closingIds_.clear();
  for (const auto& [id, c] : connections_) {
    if (c->closed || c->inEvent || (exemptAuthenticated && c->authenticated)) continue;
    if (now - c->idleSinceMs >= limit) closingIds_.push_back(id);
  }
  for (const uint32_t id : closingIds_) {
    const auto it = connections_.find(id);
    if (it == connections_.end() || it->second->closed) continue;
    markClosed(*it->second, CloseReason::kIdle);
    destroy(id);
  }
}

}  // namespace medrelay::net
