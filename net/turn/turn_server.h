#pragma once

// The TURN server's protocol core (RFC 8656 over RFC 8489), independent of the client
// transport: listeners hand it each datagram / framed message through onClientPacket() and it
// answers through ClientSink. Allocations own a RelaySocket each. Single-threaded: every call on
// the owning loop. The packet path (ChannelData, Send/Data indications) neither allocates nor
// throws; every drop is counted.
//
// Authentication: long-term credentials with REST usernames (turn_credentials.h), stateless
// nonces (438 when stale), MESSAGE-INTEGRITY compared in constant time, attributes after it
// ignored (StunMessage). Unauthenticated answers over UDP are dropped when larger than
// maxUnauthRatio × the request (amplification), and 401s are rate-limited per source IP in a
// fixed-size table (no per-client state before authentication).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/counters/turn_counters.h"
#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/stun/stun_message.h"
#include "net/turn/peer_policy.h"
#include "net/turn/relay_socket.h"
#include "net/turn/turn_credentials.h"

namespace medrelay::net::turn {

enum class ClientTransport : uint8_t { kUdp, kTcp, kTls };

// The client side of an allocation's 5-tuple (RFC 8656 §2): the listener, the TCP/TLS
// connection (0 for UDP) and the client's address.
struct ClientTuple {
  ClientTransport transport = ClientTransport::kUdp;
  uint32_t connectionId = 0;
  SocketAddress remote;
  bool operator==(const ClientTuple& o) const {
    return transport == o.transport && connectionId == o.connectionId && remote == o.remote;
  }
};
struct ClientTupleHash {
  size_t operator()(const ClientTuple& t) const {
    return t.remote.hash() * 31 + t.connectionId * 7 + static_cast<size_t>(t.transport);
  }
};

class ClientSink {
 public:
  virtual ~ClientSink() = default;
  // One STUN message or ChannelData frame (padded on streams) to a client.
  virtual void sendToClient(const ClientTuple& to, const uint8_t* data, size_t len) = 0;
};

struct TurnServerOptions {
  std::string realm = "medrelay";
  std::vector<std::string> secrets;  // the first mints, all verify (rotation)
  uint32_t defaultLifetime = 600;    // s, RFC 8656 §7.2
  uint32_t maxLifetime = 3600;
  uint32_t permissionLifetime = 300;  // RFC 8656 §9
  uint32_t channelLifetime = 600;     // RFC 8656 §12
  uint32_t nonceLifetime = 3600;
  size_t maxAllocationsPerInvite = 8;
  size_t maxAllocationsPerSource = 16;
  size_t maxAllocationsTotal = 10000;
  size_t maxPermissionsPerAllocation = 32;
  size_t maxChannelsPerAllocation = 32;
  uint64_t bandwidthBytesPerSecond = 2'500'000;  // per allocation, both directions (20 Mbit/s)
  uint64_t bandwidthBurstBytes = 512 * 1024;
  double maxUnauthRatio = 1.6;          // unauthenticated UDP response size / request size
  uint32_t unauthorizedPerSecond = 10;  // 401s per source IP (hashed slots)
  uint32_t unauthorizedBurst = 20;
  bool software = false;  // SOFTWARE attribute in responses (RFC 8489 §14.14)
  // Clocks (tests replace them): loop milliseconds and Unix seconds.
  std::function<uint64_t()> nowMs;
  std::function<int64_t()> unixNow;
};

class TurnServer {
 public:
  struct Counters {
    uint64_t malformed = 0;
    uint64_t noAllocation = 0;
    uint64_t noPermission = 0;
    uint64_t noChannel = 0;
    uint64_t peerRefused = 0;
    uint64_t bandwidthDropped = 0;
    uint64_t relaySendFailed = 0;
    uint64_t amplificationDropped = 0;
    uint64_t unauthorizedRateLimited = 0;
  };

  // dispatcher: for the expiry timer (nullptr: call sweep() yourself). liveness may be null
  // (every invite live).
  TurnServer(Dispatcher* dispatcher, TurnServerOptions options, PeerPolicy policy,
             RelaySocketFactory& relays, ClientSink& sink, metrics::TurnWorkerMetrics& metrics,
             InviteLiveness* liveness = nullptr);
  ~TurnServer();
  TurnServer(const TurnServer&) = delete;
  TurnServer& operator=(const TurnServer&) = delete;

  // The datagram entry point: one UDP datagram, or one framed STUN/ChannelData message from a
  // TCP/TLS stream.
  void onClientPacket(const ClientTuple& from, const uint8_t* data, size_t len);
  // A TCP/TLS client connection closed: its allocation goes (RFC 8656 §3.1).
  void onClientClosed(const ClientTuple& from);

  // Revoked invite or cancelled room: tears down its allocations at once. Returns how many.
  size_t revokeInvite(std::string_view inviteId);
  // Rotation: replaces the secret list (the first mints).
  void setSecrets(std::vector<std::string> secrets);

  // The in-process SFU (LocalPeer): its address becomes an own address in the policy.
  void registerLocalPeer(const SocketAddress& sfuAddress, LocalPeer& peer);
  // The SFU sends a datagram from sfuAddress to an allocation's relayed address; it reaches the
  // client like a peer datagram (permission checked). False when dropped.
  bool sendFromLocalPeer(const SocketAddress& sfuAddress, const SocketAddress& relayed,
                         const uint8_t* data, size_t len);

  // Removes expired allocations, permissions and channels (the timer calls it every second).
  void sweep();

  size_t allocationCount() const { return allocations_.size(); }
  const Counters& counters() const { return counters_; }
  const TurnServerOptions& options() const { return options_; }
  PeerPolicy& policy() { return policy_; }

  struct Allocation;  // turn_server.cpp

 private:
  struct Request;
  friend struct Allocation;

  void handleStun(const ClientTuple& from, const stun::StunMessage& msg, size_t reqLen);
  void handleChannelData(const ClientTuple& from, const uint8_t* data, size_t len);
  void handleSend(const ClientTuple& from, const stun::StunMessage& msg);
  void handleBinding(const ClientTuple& from, const stun::StunMessage& msg, size_t reqLen);
  bool authenticate(Request& r);
  void handleAllocate(Request& r);
  Allocation* ownAllocation(Request& r);
  void handleRefresh(Request& r);
  void handleCreatePermission(Request& r);
  void handleChannelBind(Request& r);
  void onPeerDatagram(Allocation& a, const SocketAddress& from, const uint8_t* data, size_t len);
  bool relayToPeer(Allocation& a, const SocketAddress& peer, const uint8_t* data, size_t len);
  bool takeTokens(Allocation& a, size_t len);
  void sendError(Request& r, uint16_t code, std::string_view reason);
  void sendChallenge(Request& r, uint16_t code);
  size_t bareChallengeSize() const;
  void sendUnauth(const ClientTuple& to, std::span<const uint8_t> msg, size_t reqLen);
  bool rateLimitUnauthorized(const SocketAddress& from);
  void destroyAllocation(const ClientTuple& key);
  uint64_t nowMs() const { return options_.nowMs(); }
  int64_t unixNow() const { return options_.unixNow(); }

  TurnServerOptions options_;
  PeerPolicy policy_;
  RelaySocketFactory& relays_;
  ClientSink& sink_;
  metrics::TurnWorkerMetrics& metrics_;
  InviteLiveness* liveness_;
  // Invites revoked while this server ran (id → unix time of the revocation): their credentials
  // are refused from then on, even before they expire. Bounded: entries older than
  // kRevokedRetentionSeconds go, and at most kMaxRevoked are kept.
  std::unordered_map<std::string, int64_t> revoked_;
  static constexpr int64_t kRevokedRetentionSeconds = 7 * 24 * 3600;
  static constexpr size_t kMaxRevoked = 100000;
  NonceCodec nonces_;
  std::unique_ptr<Timer> sweepTimer_;
  std::unordered_map<ClientTuple, std::unique_ptr<Allocation>, ClientTupleHash> allocations_;
  std::unordered_map<SocketAddress, Allocation*, SocketAddressHash> byRelay_;
  std::unordered_map<std::string, size_t> perInvite_;
  std::unordered_map<SocketAddress, size_t, SocketAddressHash> perSource_;  // port 0
  std::unordered_map<SocketAddress, LocalPeer*, SocketAddressHash> localPeers_;
  struct RateSlot {
    uint64_t lastMs = 0;
    double tokens = 0;
  };
  std::vector<RateSlot> unauthorizedSlots_;
  std::vector<uint8_t> tx_;  // every outgoing message is built here
  Counters counters_;
};

}  // namespace medrelay::net::turn
