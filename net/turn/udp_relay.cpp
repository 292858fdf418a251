#include "net/turn/udp_relay.h"

namespace medrelay::net::turn {

namespace {

class UdpRelaySocket : public RelaySocket, public UdpSocket::Callbacks {
 public:
  explicit UdpRelaySocket(RelaySocket::Receiver& r) : receiver_(r) {}
  Result<void> open(Dispatcher& d, const UdpSocket::Options& o) {
    auto s = UdpSocket::open(d, o, *this);
    if (!s) return s.error();
    socket_ = std::move(s).value();
    return {};
  }
  const SocketAddress& localAddress() const override { return socket_->localAddress(); }
  bool send(const SocketAddress& to, const uint8_t* data, size_t len) override {
    return socket_->send(to, data, len);
  }
  void onDatagram(const SocketAddress& from, uint8_t* data, size_t len) override {
    receiver_.onPeerDatagram(from, data, len);
  }

 private:
  RelaySocket::Receiver& receiver_;
  std::unique_ptr<UdpSocket> socket_;
};

}  // namespace

UdpRelaySocketFactory::UdpRelaySocketFactory(Dispatcher& dispatcher, Options options)
    : dispatcher_(dispatcher), options_(std::move(options)) {}

bool UdpRelaySocketFactory::supports(int family) const {
  return family == AF_INET ? options_.ipv4.has_value() : options_.ipv6.has_value();
}

Result<std::unique_ptr<RelaySocket>> UdpRelaySocketFactory::open(int family,
                                                                 RelaySocket::Receiver& r) {
  const auto& ip = family == AF_INET ? options_.ipv4 : options_.ipv6;
  if (!ip) return makeError("no_relay_address", "no relay address of that family");
  UdpSocket::Options o;
  o.bind = *ip;
  o.recvBufferBytes = 256 * 1024;
  o.sendBufferBytes = 256 * 1024;
  o.recvBatch = 16;
  o.sendBatch = 32;
  const uint32_t span =
      options_.portMin == 0 ? 1 : uint32_t{options_.portMax} - options_.portMin + 1;
  for (uint32_t tries = 0; tries < span; ++tries) {
    o.bind.setPort(
        options_.portMin == 0 ? 0 : static_cast<uint16_t>(options_.portMin + (nextPort_++ % span)));
    auto s = std::make_unique<UdpRelaySocket>(r);
    if (s->open(dispatcher_, o)) return std::unique_ptr<RelaySocket>(std::move(s));
  }
  return makeError("relay_ports_exhausted", "no free relay port");
}

}  // namespace medrelay::net::turn
