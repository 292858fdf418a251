#pragma once

// Passive ICE-TCP (RFC 6544, candidates with tcptype passive): a listening socket that accepts
// connections from peers and carries RFC 4571 frames (net/tcp_framing.h) on each. Like UdpSocket
// it drives non-blocking sockets with uv_poll_t handles, so no write request outlives its
// connection. Limits: maximum frame size, maximum connections, and an idle timeout that closes
// connections on which no STUN check has passed (markAuthenticated()).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/uv_handle.h"

namespace medrelay::net {

class IceTcpListener {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // One RFC 4571 frame; data is writable and valid for the call.
    virtual void onFrame(uint32_t connectionId, const SocketAddress& from, uint8_t* data,
                         size_t len) = 0;
    // The connection is gone (peer closed, error, oversize frame, idle, close()).
    virtual void onConnectionClosed(uint32_t connectionId, const SocketAddress& from) = 0;
  };

  struct Options {
    SocketAddress bind;
    size_t maxFrame = 65535;
    size_t maxConnections = 1024;
    std::chrono::milliseconds idleTimeout{10000};  // until a STUN check passes
    size_t maxQueuedBytes = 1 << 20;               // per connection, waiting for the kernel
    int backlog = 128;
  };

  struct Counters {
    uint64_t accepted = 0;
    uint64_t rejectedLimit = 0;
    uint64_t closedByPeer = 0;
    uint64_t closedError = 0;
    uint64_t closedIdle = 0;
    uint64_t closedOversize = 0;
    uint64_t framesIn = 0;
    uint64_t bytesIn = 0;
    uint64_t framesOut = 0;
    uint64_t bytesOut = 0;
    uint64_t sendDropNoConnection = 0;
    uint64_t sendDropQueueFull = 0;
    uint64_t sendDropTooLarge = 0;
  };

  static Result<std::unique_ptr<IceTcpListener>> open(Dispatcher& dispatcher,
                                                      const Options& options, Callbacks& callbacks);
  ~IceTcpListener();
  IceTcpListener(const IceTcpListener&) = delete;
  IceTcpListener& operator=(const IceTcpListener&) = delete;

  const SocketAddress& localAddress() const { return local_; }
  // Frames and sends (or queues, bounded) one packet on a connection.
  bool sendFrame(uint32_t connectionId, const uint8_t* data, size_t len);
  // A STUN check passed on the connection: it is no longer subject to the idle timeout.
  void markAuthenticated(uint32_t connectionId);
  void close(uint32_t connectionId);
  size_t connectionCount() const { return connections_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Connection;
  enum class CloseReason : uint8_t { kPeer, kError, kIdle, kOversize, kLocal };

  IceTcpListener(Dispatcher& dispatcher, const Options& options, Callbacks& callbacks);
  Result<void> init();
  void onAcceptable();
  void onConnectionEvent(Connection& c, int status, int events);
  void onReadable(Connection& c);
  void onWritable(Connection& c);
  void updatePoll(Connection& c);
  void markClosed(Connection& c, CloseReason reason);
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
  std::vector<uint32_t> idleIds_;
  Counters counters_;
};

}  // namespace medrelay::net
