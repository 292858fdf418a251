#pragma once

// A media worker's sockets and the demultiplexer in front of its sessions (docs/media.md).
//
//   socket -> onPacket(tuple, data) -> STUN Binding request?  route by USERNAME's local ufrag
//                                      -> IceLite::handleStun -> response on the same tuple
//                                   -> otherwise: route by tuple (only tuples that passed a check)
//                                      -> first byte (RFC 7983): DTLS / RTP / RTCP -> MediaSession
//
// Sessions register their IceLite agent and MediaSession hooks; nothing on the packet path
// allocates and every drop is counted by reason.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "media/ice_lite.h"
#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/stream_listener.h"
#include "net/udp_socket.h"

namespace medrelay::media {

// What the DTLS and SRTP layers of a session implement to receive packets from the transport.
// Buffers are writable (decrypt in place) and valid for the call only.
class MediaSession {
 public:
  virtual ~MediaSession() = default;
  virtual void onDtlsPacket(const net::TransportTuple& from, uint8_t* data, size_t len) = 0;
  virtual void onRtpPacket(const net::TransportTuple& from, uint8_t* data, size_t len) = 0;
  virtual void onRtcpPacket(const net::TransportTuple& from, uint8_t* data, size_t len) = 0;
};

// Passive ICE-TCP listener options for media (RFC 6544, RFC 4571 framing): connections on which
// no STUN check passes close after 10 s, and each queues at most kIceTcpQueuedBytes for the
// kernel; beyond that whole frames are dropped (StreamListener::Counters::sendDropQueueFull):
// late media is worse than lost media, and RTCP feedback asks again for what matters.
inline constexpr size_t kIceTcpQueuedBytes = 128 * 1024;  // ~0.4 s of 2.5 Mbit/s video
net::StreamListener::Options iceTcpListenerOptions();

class WorkerTransport {
 public:
  struct Config {
    // One UDP socket per address (e.g. one IPv4, one IPv6); bind the advertised IPs.
    std::vector<net::SocketAddress> udp;
    // Passive ICE-TCP listeners.
    std::vector<net::SocketAddress> tcp;
    net::UdpSocket::Options udpOptions;  // bind is taken from `udp`
    // bind is taken from `tcp`.
    net::StreamListener::Options tcpOptions = iceTcpListenerOptions();
  };

  // Why a packet was dropped before reaching a session. Sorted; kCount last.
  enum class Drop : uint8_t {
    kBadStun,       // first byte says STUN but the message does not parse
    kIceRejected,   // the session's ICE agent rejected the check (see IceLite counters)
    kNotStun,       // unknown tuple and not STUN at all
    kShortPacket,   // RTP/RTCP shorter than a fixed header
    kUnknownKind,   // first byte outside the RFC 7983 ranges we serve (ZRTP, TURN, ...)
    kUnknownTuple,  // non-STUN (or non-request STUN) from a tuple that passed no check
    kUnknownUfrag,  // Binding request whose USERNAME names no session here
    kCount
  };
  static const char* dropName(Drop d);

  struct Counters {
    uint64_t stunIn = 0;
    uint64_t dtlsIn = 0;
    uint64_t rtpIn = 0;
    uint64_t rtcpIn = 0;
    uint64_t stunResponsesOut = 0;
    uint64_t sendNoTransport = 0;   // tuple names a socket/connection that does not exist
    uint64_t localRelayIn = 0;      // datagrams handed in by the in-process TURN path
    uint64_t localRelayOut = 0;     // datagrams handed back to it
    uint64_t localRelayKernel = 0;  // local-path tuples sent through the kernel (path full/off)
    std::array<uint64_t, static_cast<size_t>(Drop::kCount)> drops{};
    uint64_t dropped(Drop d) const { return drops[static_cast<size_t>(d)]; }
  };

  // The in-process TURN path (docs/turn.md): datagrams between a session and a TURN allocation
  // of this process skip the kernel. The relay hands them in with onLocalRelayPacket(); their
  // tuples carry connectionId kLocalRelayConnection, and send()/sendNow() on such a tuple go
  // back through LocalRelay (or through the UDP socket to the relayed address when it refuses:
  // the TURN relay socket behind that address takes them just the same).
  class LocalRelay {
   public:
    virtual ~LocalRelay() = default;
    // Worker thread; copies data. False: not taken.
    virtual bool sendToRelayed(const net::SocketAddress& relayed, const uint8_t* data,
                               size_t len) = 0;
  };
  static constexpr uint32_t kLocalRelayConnection = 0xFFFFFFFF;

  // Opens every socket in config (none is fine: the fuzzer injects through onPacket).
  static Result<std::unique_ptr<WorkerTransport>> create(net::Dispatcher& dispatcher,
                                                         const Config& config);
  ~WorkerTransport();
  WorkerTransport(const WorkerTransport&) = delete;
  WorkerTransport& operator=(const WorkerTransport&) = delete;

  // Registers a session under agent.localUfrag(). Both must outlive the registration.
  Result<void> addSession(IceLite& agent, MediaSession& media);
  void removeSession(IceLite& agent);
  // ICE restart (RFC 8445 §9) of a registered session: new credentials, demux maps re-keyed.
  void restartIce(IceLite& agent, std::string_view remoteUfrag, std::string_view remotePassword);

  // Media out on a tuple: batched sendmmsg on UDP, a framed write on ICE-TCP.
  bool send(const net::TransportTuple& to, const uint8_t* data, size_t len);
  // Unbatched (control packets: DTLS handshake flights, STUN responses).
  bool sendNow(const net::TransportTuple& to, const uint8_t* data, size_t len);

  // Worker thread. nullptr detaches (local-path tuples then use the UDP socket).
  void setLocalRelay(LocalRelay* relay) { localRelay_ = relay; }
  // A datagram the TURN relay sent from `relayed` to UDP socket `udpIndex`: handled as if that
  // socket had received it (ICE, DTLS and SRTP unchanged).
  void onLocalRelayPacket(uint8_t udpIndex, const net::SocketAddress& relayed, uint8_t* data,
                          size_t len);

  // Entry point of every received packet (sockets call it; tests and the fuzzer may too).
  void onPacket(const net::TransportTuple& from, uint8_t* data, size_t len);

  size_t udpSocketCount() const { return udp_.size(); }
  size_t tcpListenerCount() const { return tcp_.size(); }
  net::UdpSocket& udpSocket(size_t i) { return *udp_.at(i); }
  net::StreamListener& tcpListener(size_t i) { return *tcp_.at(i)->listener; }
  size_t sessionCount() const { return sessions_.size(); }
  size_t tupleCount() const { return byTuple_.size(); }
  const Counters& counters() const { return counters_; }

 private:
  struct Entry {
    IceLite* agent = nullptr;
    MediaSession* media = nullptr;
    std::string ufrag;
  };
  // Routes callbacks of one TCP listener back with its index.
  struct TcpSlot : net::StreamListener::Callbacks {
    WorkerTransport* owner = nullptr;
    uint8_t index = 0;
    std::unique_ptr<net::StreamListener> listener;
    void onFrame(uint32_t id, const net::SocketAddress& from, uint8_t* data, size_t len) override;
    void onConnectionClosed(uint32_t id, const net::SocketAddress& from) override;
  };
  struct UdpSlot : net::UdpSocket::Callbacks {
    WorkerTransport* owner = nullptr;
    uint8_t index = 0;
    void onDatagram(const net::SocketAddress& from, uint8_t* data, size_t len) override;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  explicit WorkerTransport(net::Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  void handleStun(const net::TransportTuple& from, uint8_t* data, size_t len, Entry* known);
  void onTcpClosed(const net::TransportTuple& tuple);
  // Drops tuple routes of e that its agent no longer holds valid.
  void syncTuples(Entry& e);
  void drop(Drop d) { ++counters_.drops[static_cast<size_t>(d)]; }
  bool sendLocal(const net::TransportTuple& to, const uint8_t* data, size_t len);

  net::Dispatcher& dispatcher_;
  std::vector<std::unique_ptr<UdpSlot>> udpSlots_;
  std::vector<std::unique_ptr<net::UdpSocket>> udp_;
  std::vector<std::unique_ptr<TcpSlot>> tcp_;
  std::unordered_map<IceLite*, std::unique_ptr<Entry>> sessions_;
  std::unordered_map<std::string, Entry*, StringHash, std::equal_to<>> byUfrag_;
  std::unordered_map<net::TransportTuple, Entry*, net::TransportTupleHash> byTuple_;
  LocalRelay* localRelay_ = nullptr;
  std::array<uint8_t, 512> response_{};
  Counters counters_;
};

}  // namespace medrelay::media
