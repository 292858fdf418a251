#pragma once

// A listening TCP socket whose connections carry packets in a pluggable framing
// (net/stream_framing.h), optionally inside TLS 1.2+ (net/tls, memory BIOs). One class serves
// passive ICE-TCP (RFC 6544, RFC 4571 framing; media/worker_transport.h) and TURN over TCP and
// TLS (RFC 8656 §3.1, §12.5; server/turn_component.cpp). Like UdpSocket it drives non-blocking
// sockets with uv_poll_t handles, so no write request outlives its connection.
//
// Per connection: a receive buffer that grows (by doubling, once) up to the framing's largest
// frame; writes go straight to the kernel and only what it did not take is queued. The queue
// limit is per use: over it whole frames are dropped (sendDropQueueFull), never part of one.
// Limits: connections (extra ones are accepted and closed at once), an idle timeout, and the
// framing's frame size (a longer or malformed frame closes the connection).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/stream_framing.h"
#include "net/tls/tls_context.h"
#include "net/uv_handle.h"

namespace medrelay::net {

class StreamListener {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // One packet (without its framing header); writable and valid for the call.
    virtual void onFrame(uint32_t connectionId, const SocketAddress& from, uint8_t* data,
                         size_t len) = 0;
    // The connection is gone (peer closed, error, bad frame, idle, close()). Never called from
    // inside send(): a connection that fails there is closed on the next loop iteration.
    virtual void onConnectionClosed(uint32_t connectionId, const SocketAddress& from) = 0;
  };

  // What the idle timeout measures.
  enum class IdleRule : uint8_t {
    kUntilAuthenticated,  // from accept until markAuthenticated() (ICE-TCP: a check passed)
    kSinceLastReceive,    // since the last bytes received (TURN)
  };

  struct Options {
    SocketAddress bind;
    std::shared_ptr<const StreamFraming> framing;  // required
    std::shared_ptr<TlsContext> tls;               // null: plain TCP
    size_t maxConnections = 1024;
    size_t maxQueuedBytes = 1 << 20;  // per connection, waiting for the kernel
    IdleRule idleRule = IdleRule::kUntilAuthenticated;
    std::chrono::milliseconds idleTimeout{10000};
    int backlog = 128;
  };

  struct Counters {
    uint64_t accepted = 0;
    uint64_t rejectedLimit = 0;
    uint64_t closedByPeer = 0;
    uint64_t closedError = 0;
    uint64_t closedIdle = 0;
    uint64_t closedOversize = 0;  // a frame longer than the framing allows
    uint64_t closedBadFrame = 0;  // bytes that are no frame: the stream lost its framing
    uint64_t tlsFailures = 0;     // no SSL object at accept, or a fatal TLS error
    uint64_t framesIn = 0;
    uint64_t bytesIn = 0;  // packet bytes, headers excluded
    uint64_t framesOut = 0;
    uint64_t bytesOut = 0;
    uint64_t sendDropNoConnection = 0;  // unknown or closed connection, or a write error
    uint64_t sendDropQueueFull = 0;     // the whole frame: the queue is over maxQueuedBytes
    uint64_t sendDropTooLarge = 0;      // the framing cannot carry a packet of that size
  };

  static Result<std::unique_ptr<StreamListener>> open(Dispatcher& dispatcher,
                                                      const Options& options, Callbacks& callbacks);
  ~StreamListener();
  StreamListener(const StreamListener&) = delete;
  StreamListener& operator=(const StreamListener&) = delete;

  const SocketAddress& localAddress() const { return local_; }
  // Frames and sends (or queues, bounded) one packet on a connection.
  bool send(uint32_t connectionId, const uint8_t* data, size_t len);
  // IdleRule::kUntilAuthenticated: the connection is no longer subject to the idle timeout.
  void markAuthenticated(uint32_t connectionId);
  // Closes at once (onConnectionClosed runs now, or after the event being handled).
  void close(uint32_t connectionId);
  size_t connectionCount() const { return connections_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Connection;
  enum class CloseReason : uint8_t { kPeer, kError, kIdle, kOversize, kBadFrame, kTls, kLocal };

  StreamListener(Dispatcher& dispatcher, const Options& options, Callbacks& callbacks);
  Result<void> init();
  void onAcceptable();
  void onConnectionEvent(Connection& c, int status, int events);
  void onReadable(Connection& c);
  bool receiveTls(Connection& c, const uint8_t* data, size_t len);
  bool makeRoom(Connection& c);
  bool deliver(Connection& c);
  bool write(Connection& c, const uint8_t* head, size_t headLen, const uint8_t* data, size_t len);
  void onWritable(Connection& c);
  void updatePoll(Connection& c);
  void markClosed(Connection& c, CloseReason reason);
  void destroy(uint32_t id);
  void reapClosed();
  void sweepIdle();

  Dispatcher& dispatcher_;
  Options options_;
  Callbacks& callbacks_;
  int fd_ = -1;
  SocketAddress local_;
  UvHandle<uv_poll_t> poll_;
  Timer idleTimer_;
  Timer reapTimer_;  // closes, on the next iteration, connections a send() found broken
  uint32_t nextId_ = 1;
  std::unordered_map<uint32_t, std::unique_ptr<Connection>> connections_;
  std::vector<uint32_t> closingIds_;
  Counters counters_;
};

}  // namespace medrelay::net
