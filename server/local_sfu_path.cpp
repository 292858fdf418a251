#include "server/local_sfu_path.h"

namespace medrelay::server {

LocalSfuPath::LocalSfuPath(net::Dispatcher& turnLoop, net::Dispatcher& workerLoop,
                           const net::SocketAddress& sfuAddress, uint8_t udpIndex)
    : turnLoop_(turnLoop), workerLoop_(workerLoop), sfuAddress_(sfuAddress), udpIndex_(udpIndex) {}

bool LocalSfuPath::onRelayedDatagram(const net::SocketAddress& relayed,
                                     const net::SocketAddress& to, const uint8_t* data,
                                     size_t len) {
  if (!toWorker_.push(relayed, to, data, len)) return false;
  // The lambda holds one pointer: std::function keeps it inline (no allocation).
  if (toWorker_.claimWake()) workerLoop_.post([this] { drainToWorker(); });
  return true;
}

bool LocalSfuPath::sendToRelayed(const net::SocketAddress& relayed, const uint8_t* data,
                                 size_t len) {
  if (!toTurn_.push(sfuAddress_, relayed, data, len)) return false;
  if (toTurn_.claimWake()) turnLoop_.post([this] { drainToTurn(); });
  return true;
}

void LocalSfuPath::drainToWorker() {
  toWorker_.rearm();
  toWorker_.drain([this](net::turn::LocalPacketRing::Slot& s) {
    if (transport_ != nullptr) transport_->onLocalRelayPacket(udpIndex_, s.from, s.data, s.len);
  });
}

void LocalSfuPath::drainToTurn() {
  toTurn_.rearm();
  toTurn_.drain([this](net::turn::LocalPacketRing::Slot& s) {
    if (server_ != nullptr) server_->sendFromLocalPeer(sfuAddress_, s.to, s.data, s.len);
  });
}

}  // namespace medrelay::server
