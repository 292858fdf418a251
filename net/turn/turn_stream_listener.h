#pragma once

// TURN over TCP and TLS (RFC 8656 §3.1, §12.5): a listening socket whose connections carry STUN
// messages and ChannelData frames back to back (ChannelData padded to 4 bytes on streams). With
// a TlsContext the same framing runs inside TLS 1.2+ (net/tls, memory BIOs), so one listener
// can serve `turns:` on 443. Non-blocking sockets driven by uv_poll_t, like IceTcpListener.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/tls/tls_context.h"
#include "net/uv_handle.h"

namespace medrelay::net::turn {

class TurnStreamListener {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // One complete STUN message or ChannelData frame (with its padding); valid for the call.
    virtual void onMessage(uint32_t connectionId, const SocketAddress& from, const uint8_t* data,
                           size_t len) = 0;
    virtual void onConnectionClosed(uint32_t connectionId, const SocketAddress& from) = 0;
  };

  struct Options {
    SocketAddress bind;
    std::shared_ptr<TlsContext> tls;  // null: plain TCP
    size_t maxConnections = 4096;
    size_t maxQueuedBytes = 1 << 20;                // per connection, waiting for the kernel
    std::chrono::milliseconds idleTimeout{120000};  // no bytes received for this long: closed
    int backlog = 128;
  };

  struct Counters {
    uint64_t accepted = 0;
    uint64_t rejectedLimit = 0;
    uint64_t closedByPeer = 0;
    uint64_t closedError = 0;
    uint64_t closedBadFrame = 0;
    uint64_t closedIdle = 0;
    uint64_t tlsFailures = 0;
    uint64_t messagesIn = 0;
    uint64_t sendDropped = 0;
  };

  static Result<std::unique_ptr<TurnStreamListener>> open(Dispatcher& dispatcher,
                                                          const Options& options,
                                                          Callbacks& callbacks);
  ~TurnStreamListener();
  TurnStreamListener(const TurnStreamListener&) = delete;
  TurnStreamListener& operator=(const TurnStreamListener&) = delete;

  const SocketAddress& localAddress() const { return local_; }
  bool send(uint32_t connectionId, const uint8_t* data, size_t len);
  void close(uint32_t connectionId);
  size_t connectionCount() const { return connections_.size(); }
  const Counters& counters() const { return counters_; }

  // Size of the next STUN message or ChannelData frame at the start of buf (RFC 8656 §12.5),
  // 0 when more bytes are needed, nullopt when the bytes are neither.
  static std::optional<size_t> nextFrameSize(std::span<const uint8_t> buf);

 private:
  struct Connection;
  TurnStreamListener(Dispatcher& dispatcher, const Options& options, Callbacks& callbacks);
  Result<void> init();
  void onAcceptable();
  void onEvent(Connection& c, int status, int events);
  void onReadable(Connection& c);
  bool deliverPlain(Connection& c);
  bool writeWire(Connection& c, const uint8_t* data, size_t len);
  void flushOut(Connection& c);
  void updatePoll(Connection& c);
  void destroy(uint32_t id);
  void sweepIdle();

  Dispatcher& dispatcher_;
  Options options_;
  Callbacks& callbacks_;
  int fd_ = -1;
  SocketAddress local_;
  UvHandle<uv_poll_t> poll_;
  Timer idleTimer_;
  uint32_t nextId_ = 1;
  std::unordered_map<uint32_t, std::unique_ptr<Connection>> connections_;
  Counters counters_;
};

}  // namespace medrelay::net::turn
