#pragma once

// One TURN allocation (RFC 8656 §2.2): its relayed socket, lifetime, permissions (§9, keyed by
// peer IP, 5 min) and channel bindings (§12, 10 min), and a token bucket for its bandwidth.
// Owned by TurnServer; the relay socket's Receiver is the allocation itself.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/stun/stun_builder.h"
#include "net/stun/stun_message.h"
#include "net/turn/relay_socket.h"
#include "net/turn/turn_server.h"

namespace medrelay::net::turn {

struct Permission {
  stun::StunAddress ip;  // port ignored (RFC 8656 §9)
  uint64_t expiresMs = 0;
};

struct Channel {
  uint16_t number = 0;
  SocketAddress peer;
  uint64_t expiresMs = 0;
};

// Internal to turn_*.cpp.
// One request being answered; the key is set once authenticate() succeeds.
struct TurnServer::Request {
  const ClientTuple& from;
  const stun::StunMessage& msg;
  size_t reqLen;
  bool fingerprint = false;
  bool authed = false;
  std::array<uint8_t, 16> key{};
  std::string_view username;
  RestUsername rest;

  // Starts a response of `cls` in the server's tx buffer.
  stun::StunBuilder start(std::vector<uint8_t>& tx, stun::MessageClass cls) const {
    return stun::StunBuilder(tx, cls, msg.method(), msg.transactionId());
  }
};

struct TurnServer::Allocation : RelaySocket::Receiver {
  TurnServer* server = nullptr;
  ClientTuple client;
  std::string username;
  std::string inviteId;
  int64_t credentialExpiry = 0;  // Unix seconds
  std::unique_ptr<RelaySocket> relay;
  SocketAddress relayed;
  uint64_t expiresMs = 0;
  stun::StunMessage::TransactionId allocateTid{};
  std::vector<Permission> permissions;
  std::vector<Channel> channels;
  double tokens = 0;
  uint64_t tokensAtMs = 0;

  void onPeerDatagram(const SocketAddress& from, const uint8_t* data, size_t len) override {
    server->onPeerDatagram(*this, from, data, len);
  }

  bool permitted(const stun::StunAddress& peer, uint64_t now) const {
    for (const auto& p : permissions) {
      if (p.expiresMs > now && p.ip.family == peer.family && p.ip.ip == peer.ip) return true;
    }
    return false;
  }
  const Channel* channelByNumber(uint16_t n, uint64_t now) const {
    for (const auto& c : channels) {
      if (c.number == n && c.expiresMs > now) return &c;
    }
    return nullptr;
  }
  const Channel* channelByPeer(const SocketAddress& peer, uint64_t now) const {
    for (const auto& c : channels) {
      if (c.expiresMs > now && c.peer == peer) return &c;
    }
    return nullptr;
  }
};

}  // namespace medrelay::net::turn
