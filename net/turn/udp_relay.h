#pragma once

// Relayed transport addresses as real UDP sockets (net/udp_socket.h, batched), one per
// allocation, bound to the relay IP (turn.relay_ip, default media.listen_ip) on a port from the
// configured range (RFC 8656 §7.2: any port the server likes; 0..0 = ephemeral).

#include <cstdint>
#include <memory>
#include <optional>

#include "net/dispatcher.h"
#include "net/turn/relay_socket.h"
#include "net/udp_socket.h"

namespace medrelay::net::turn {

class UdpRelaySocketFactory : public RelaySocketFactory {
 public:
  struct Options {
    std::optional<SocketAddress> ipv4;  // port ignored
    std::optional<SocketAddress> ipv6;
    uint16_t portMin = 0;  // 0: ephemeral ports
    uint16_t portMax = 0;
  };
  UdpRelaySocketFactory(Dispatcher& dispatcher, Options options);

  bool supports(int family) const override;
  Result<std::unique_ptr<RelaySocket>> open(int family, RelaySocket::Receiver& r) override;

 private:
  Dispatcher& dispatcher_;
  Options options_;
  uint32_t nextPort_ = 0;  // round-robin offset in the range
};

}  // namespace medrelay::net::turn
