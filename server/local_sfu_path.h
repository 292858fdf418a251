#pragma once

// The in-process path between the TURN server and one media worker (docs/turn.md): a datagram a
// TURN client relays to that worker's UDP address is handed to the worker's WorkerTransport as
// if its socket had received it from the allocation's relayed address, and the worker's answers
// to that relayed address come back to TurnServer::sendFromLocalPeer() - no kernel round trip.
//
// Two threads: the TURN thread (LocalPeer side) and the worker (LocalRelay side). Each direction
// is a preallocated single-producer single-consumer ring (LocalPacketRing); the producer posts
// one drain task per batch to the consumer's Dispatcher, never one per packet, and nothing on
// the way allocates. A full ring drops towards the worker (counted by the TURN server) and falls
// back to the kernel towards TURN.
//
// Lifetime: attach() on both threads before traffic; TurnComponent detaches the TURN side, then
// the worker side (a runSync on each loop also runs every drain task already posted), and only
// then destroys this object.

#include <cstdint>

#include "media/worker_transport.h"
#include "net/dispatcher.h"
#include "net/turn/local_packet_ring.h"
#include "net/turn/relay_socket.h"
#include "net/turn/turn_server.h"

namespace medrelay::server {

class LocalSfuPath final : public net::turn::LocalPeer, public media::WorkerTransport::LocalRelay {
 public:
  static constexpr size_t kRingSlots = 1024;  // per direction: 2 MiB each

  // sfuAddress: the worker's UDP socket address, udpIndex: that socket's index in its transport.
  LocalSfuPath(net::Dispatcher& turnLoop, net::Dispatcher& workerLoop,
               const net::SocketAddress& sfuAddress, uint8_t udpIndex);

  const net::SocketAddress& sfuAddress() const { return sfuAddress_; }

  // TURN thread: the server answers go to (nullptr detaches).
  void attachServer(net::turn::TurnServer* server) { server_ = server; }
  // Worker thread: the transport datagrams are handed to (nullptr detaches).
  void attachTransport(media::WorkerTransport* transport) { transport_ = transport; }

  // net::turn::LocalPeer (TURN thread).
  bool onRelayedDatagram(const net::SocketAddress& relayed, const net::SocketAddress& to,
                         const uint8_t* data, size_t len) override;
  // media::WorkerTransport::LocalRelay (worker thread).
  bool sendToRelayed(const net::SocketAddress& relayed, const uint8_t* data, size_t len) override;

 private:
  void drainToWorker();  // worker thread
  void drainToTurn();    // TURN thread

  net::Dispatcher& turnLoop_;
  net::Dispatcher& workerLoop_;
  net::SocketAddress sfuAddress_;
  uint8_t udpIndex_;
  net::turn::TurnServer* server_ = nullptr;      // TURN thread only
  media::WorkerTransport* transport_ = nullptr;  // worker thread only
  net::turn::LocalPacketRing toWorker_{kRingSlots};
  net::turn::LocalPacketRing toTurn_{kRingSlots};
};

}  // namespace medrelay::server
