#pragma once

// The seams of the TURN server: where relayed datagrams leave and enter. Two implementations of
// each: UDP sockets (udp_relay.h) and in-process fakes (bench, fuzz, the SFU's LocalPeer).

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/result.h"
#include "net/socket_address.h"

namespace medrelay::net::turn {

// One allocation's relayed transport address (RFC 8656 §2).
class RelaySocket {
 public:
  class Receiver {
   public:
    virtual ~Receiver() = default;
    // A datagram from a peer to the relayed address; valid for the call.
    virtual void onPeerDatagram(const SocketAddress& from, const uint8_t* data, size_t len) = 0;
  };
  virtual ~RelaySocket() = default;
  virtual const SocketAddress& localAddress() const = 0;
  virtual bool send(const SocketAddress& to, const uint8_t* data, size_t len) = 0;
};

class RelaySocketFactory {
 public:
  virtual ~RelaySocketFactory() = default;
  // AF_INET or AF_INET6; false when no relay address of that family is configured.
  virtual bool supports(int family) const = 0;
  virtual Result<std::unique_ptr<RelaySocket>> open(int family, RelaySocket::Receiver& r) = 0;
};

// medrelay's own SFU inside the process: when a permission's peer is one of the SFU's media
// addresses, relayed datagrams are handed to it directly (no kernel round trip). The SFU answers
// through TurnServer::sendFromLocalPeer().
class LocalPeer {
 public:
  virtual ~LocalPeer() = default;
  // `relayed` is the allocation's relayed address (the source the SFU sees), `to` the SFU address.
  // Copies what it keeps (data is valid for the call). False: dropped (e.g. its queue is full).
  virtual bool onRelayedDatagram(const SocketAddress& relayed, const SocketAddress& to,
                                 const uint8_t* data, size_t len) = 0;
};

}  // namespace medrelay::net::turn
