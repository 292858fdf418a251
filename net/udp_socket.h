#pragma once

// A media worker's UDP socket: a non-blocking socket watched by a uv_poll_t, drained with
// recvmmsg into a preallocated ring of buffers, and written with sendmmsg from a preallocated
// batch that is flushed once per loop iteration (before the loop blocks and after I/O
// callbacks). Nothing on the packet path allocates; every drop is counted.
//
// Why our own poll handle instead of libuv's UV_UDP_RECVMMSG: libuv hands out buffers through an
// alloc callback per wakeup and frees/reuses them through the read callback (fine), but its send
// side queues a uv_udp_send_t per datagram, and it exposes neither sendmmsg batching under our
// control nor the ancillary data (IP_PKTINFO) a later wildcard bind would need.
//
// Addresses: bind the IP that is advertised in candidates. A socket bound to 0.0.0.0 may answer
// from another source address and peers drop such replies (docs/media.md).

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.h"
#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/uv_handle.h"

namespace medrelay::net {

class UdpSocket {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // data is writable and valid for the duration of the call (SRTP decrypts in place).
    virtual void onDatagram(const SocketAddress& from, uint8_t* data, size_t len) = 0;
  };

  struct Options {
    SocketAddress bind;                  // specific IP; port 0 = ephemeral
    int recvBufferBytes = 4 << 20;       // SO_RCVBUF (0 = system default)
    int sendBufferBytes = 4 << 20;       // SO_SNDBUF (0 = system default)
    size_t recvBatch = 32;               // datagrams per recvmmsg
    size_t recvSlotBytes = 4096;         // larger datagrams are truncated and dropped
    size_t sendBatch = 64;               // datagrams per sendmmsg
    size_t sendSlotBytes = 2048;         // larger datagrams bypass the batch (sent at once)
    size_t maxRecvBatchesPerWakeup = 8;  // fairness towards the loop's other handles
  };

  struct Counters {
    uint64_t datagramsIn = 0;
    uint64_t bytesIn = 0;
    uint64_t datagramsOut = 0;
    uint64_t bytesOut = 0;
    uint64_t recvBatches = 0;
    uint64_t sendBatches = 0;
    uint64_t recvErrors = 0;
    uint64_t recvTruncated = 0;
    uint64_t sendDropWouldBlock = 0;  // EAGAIN/ENOBUFS: kernel buffer full, dropped
    uint64_t sendDropError = 0;       // any other errno (unreachable, EMSGSIZE, ...)
    uint64_t sendDropInvalid = 0;     // bad destination or socket closed
  };

  static Result<std::unique_ptr<UdpSocket>> open(Dispatcher& dispatcher, const Options& options,
                                                 Callbacks& callbacks);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  const SocketAddress& localAddress() const { return local_; }

  // Queues a datagram (copied) for the end-of-iteration sendmmsg; flushes first when the batch is
  // full. Returns false only if the datagram was dropped at once.
  bool send(const SocketAddress& to, const uint8_t* data, size_t len);
  // Sends now, after whatever is queued (order is kept): STUN responses and other control packets.
  bool sendNow(const SocketAddress& to, const uint8_t* data, size_t len);
  // Sends the queued batch.
  void flush();
  size_t queued() const { return sendCount_; }

  const Counters& counters() const { return counters_; }
  int fd() const { return fd_; }

 private:
  UdpSocket(Dispatcher& dispatcher, const Options& options, Callbacks& callbacks);
  Result<void> init();
  void onReadable();
  void armFlush();
  void countSendError(int err);

  Dispatcher& dispatcher_;
  Options options_;
  Callbacks& callbacks_;
  int fd_ = -1;
  SocketAddress local_;
  Counters counters_;
  UvHandle<uv_poll_t> poll_;
  UvHandle<uv_prepare_t> prepare_;  // flush before the loop blocks (sends from timers)
  UvHandle<uv_check_t> check_;      // flush after I/O callbacks (sends from packet handlers)
  bool flushArmed_ = false;

  // Receive ring: recvBatch slots of recvSlotBytes, with their headers and source addresses.
  std::vector<uint8_t> recvData_;
  std::vector<mmsghdr> recvMsgs_;
  std::vector<iovec> recvIov_;
  std::vector<SocketAddress> recvFrom_;

  // Send batch.
  std::vector<uint8_t> sendData_;
  std::vector<mmsghdr> sendMsgs_;
  std::vector<iovec> sendIov_;
  std::vector<SocketAddress> sendTo_;
  size_t sendCount_ = 0;
};

}  // namespace medrelay::net
