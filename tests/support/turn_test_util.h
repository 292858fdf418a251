#pragma once

// Helpers for TURN server tests: a capturing ClientSink, an in-process relay factory, and a
// minimal long-term-credential client that builds requests the way RFC 8656 clients do.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"
#include "net/stun/stun_message.h"
#include "net/turn/relay_socket.h"
#include "net/turn/turn_credentials.h"
#include "net/turn/turn_server.h"

namespace medrelay::testing {

using net::SocketAddress;
namespace stun = net::stun;
namespace turn = net::turn;

struct CapturedPacket {
  turn::ClientTuple to;
  std::vector<uint8_t> bytes;
};

class CapturingSink : public turn::ClientSink {
 public:
  void sendToClient(const turn::ClientTuple& to, const uint8_t* data, size_t len) override {
    packets.push_back({to, std::vector<uint8_t>(data, data + len)});
  }
  std::deque<CapturedPacket> packets;
};

// Relay sockets that live in memory: sent datagrams are recorded, peers inject with deliver().
class FakeRelays : public turn::RelaySocketFactory {
 public:
  class Socket : public turn::RelaySocket {
   public:
    Socket(FakeRelays& owner, SocketAddress local, turn::RelaySocket::Receiver& r)
        : owner_(owner), local_(std::move(local)), receiver(r) {}
    ~Socket() override {
      owner_.live.erase(std::remove(owner_.live.begin(), owner_.live.end(), this),
                        owner_.live.end());
    }
    const SocketAddress& localAddress() const override { return local_; }
    bool send(const SocketAddress& to, const uint8_t* data, size_t len) override {
      owner_.sent.push_back({local_, to, std::vector<uint8_t>(data, data + len)});
      return true;
    }
    FakeRelays& owner_;
    SocketAddress local_;
    turn::RelaySocket::Receiver& receiver;
  };
  struct Sent {
    SocketAddress from;
    SocketAddress to;
    std::vector<uint8_t> bytes;
  };

  bool supports(int family) const override { return family == AF_INET || ipv6; }
  Result<std::unique_ptr<turn::RelaySocket>> open(int family,
                                                  turn::RelaySocket::Receiver& r) override {
    if (failOpen) return makeError("fail", "test");
    const uint16_t port = static_cast<uint16_t>(50000 + next++);
    auto addr = family == AF_INET ? *SocketAddress::fromIp("198.51.100.10", port)
                                  : *SocketAddress::fromIp("2001:db8::10", port);
    auto s = std::make_unique<Socket>(*this, addr, r);
    live.push_back(s.get());
    return std::unique_ptr<turn::RelaySocket>(std::move(s));
  }
  // A peer datagram to the relayed address `relayed`; false if no such socket.
  bool deliver(const SocketAddress& relayed, const SocketAddress& from,
               const std::vector<uint8_t>& data) {
    for (auto* s : live) {
      if (s->localAddress() == relayed) {
        s->receiver.onPeerDatagram(from, data.data(), data.size());
        return true;
      }
    }
    return false;
  }

  bool ipv6 = true;
  bool failOpen = false;
  int next = 0;
  std::vector<Socket*> live;
  std::vector<Sent> sent;
};

// A TURN client's request builder with REST long-term credentials.
struct TurnTestClient {
  std::string username;
  std::string password;
  std::string realm = "medrelay";
  std::string nonce;
  bool fingerprint = false;
  uint8_t tidCounter = 0;

  stun::StunMessage::TransactionId nextTid() {
    stun::StunMessage::TransactionId t{};
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(0xA0 + i);
    t[11] = ++tidCounter;
    return t;
  }

  // Builds a request; `attrs` adds method attributes; with auth adds USERNAME/REALM/NONCE/MI.
  std::vector<uint8_t> request(uint16_t method,
                               const std::function<void(stun::StunBuilder&)>& attrs,
                               bool auth = true,
                               stun::MessageClass cls = stun::MessageClass::kRequest) {
    std::vector<uint8_t> buf(2048);
    const auto tid = nextTid();
    stun::StunBuilder b(buf, cls, method, tid);
    if (attrs) attrs(b);
    if (auth) {
      b.addString(stun::attr::kUsername, username);
      b.addString(stun::attr::kRealm, realm);
      b.addString(stun::attr::kNonce, nonce);
      const auto key = stun::longTermKeyMd5(username, realm, password);
      b.addMessageIntegrity(*key);
    }
    if (fingerprint) b.addFingerprint();
    auto w = b.finish();
    return std::vector<uint8_t>(w->begin(), w->end());
  }
};

// Parses a captured response (asserting it parses).
inline std::optional<stun::StunMessage> parseResponse(const std::vector<uint8_t>& bytes) {
  return stun::StunMessage::parse(bytes);
}

}  // namespace medrelay::testing
