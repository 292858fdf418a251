#pragma once

// The TURN side of a medrelay-load participant (--turn): one UDP allocation on medrelay's TURN
// server (RFC 8656 §7: Allocate, answered 401 with REALM and NONCE, repeated with the long-term
// credential), one channel to the SFU's candidate (§12: ChannelBind), and ChannelData framing
// (§12.4) for everything the participant exchanges with the SFU: ICE checks, DTLS, SRTP. Refreshes
// the channel (and with it the permission, §9) and the allocation before they expire. One request
// in flight at a time; 438 (stale nonce) is answered with the new nonce.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/socket_address.h"
#include "net/stun/stun_message.h"

namespace medrelay::bench {

class TurnClient {
 public:
  struct Server {
    net::SocketAddress address;
    std::string username;  // REST credential "expiry:invite" (medrelay's /ice-servers)
    std::string password;
  };
  static constexpr uint16_t kChannel = 0x4000;
  static constexpr size_t kHeader = 4;  // ChannelData channel number + length

  TurnClient(Server server, net::SocketAddress peer);

  // The request to send to the server now, if any (Allocate first; then retransmissions and
  // refreshes). nowMs is any monotonic millisecond clock.
  std::optional<std::vector<uint8_t>> poll(uint64_t nowMs);
  // A datagram from the server. ChannelData on our channel: the payload. A STUN response to our
  // request: handled (poll() then has the next request); nullopt.
  std::optional<std::span<uint8_t>> onDatagram(uint8_t* data, size_t len, uint64_t nowMs);

  bool ready() const { return state_ == State::kReady; }
  bool failed() const { return state_ == State::kFailed; }
  const std::string& failure() const { return failure_; }
  const net::SocketAddress& server() const { return server_.address; }
  const std::optional<net::SocketAddress>& relayed() const { return relayed_; }

  // Frames payload as ChannelData into out (capacity >= len + kHeader); returns the frame size.
  static size_t frame(const uint8_t* payload, size_t len, uint8_t* out);

 private:
  enum class State { kAllocating, kBinding, kReady, kFailed };
  enum class Request { kNone, kAllocate, kChannelBind, kRefresh };
  std::vector<uint8_t> build(Request r);
  void fail(std::string why);

  Server server_;
  net::SocketAddress peer_;
  State state_ = State::kAllocating;
  Request pending_ = Request::kNone;
  Request next_ = Request::kAllocate;
  net::stun::StunMessage::TransactionId tid_{};
  std::string realm_;
  std::string nonce_;
  std::optional<net::SocketAddress> relayed_;
  uint64_t sentAtMs_ = 0;
  int attempts_ = 0;
  int authRetries_ = 0;
  uint64_t lastBindMs_ = 0;
  uint64_t lastRefreshMs_ = 0;
  std::string failure_;
};

}  // namespace medrelay::bench
