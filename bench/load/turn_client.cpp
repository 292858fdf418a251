#include "bench/load/turn_client.h"

#include <random>

#include "net/stun/stun_builder.h"
#include "net/stun/stun_constants.h"
#include "net/stun/stun_integrity.h"

namespace medrelay::bench {

namespace st = net::stun;

namespace {
constexpr uint64_t kRetransmitMs = 500;  // RFC 8489 §6.2.1 starts at 500 ms
constexpr int kMaxAttempts = 7;
constexpr uint64_t kChannelRefreshMs = 240'000;     // permissions last 300 s (RFC 8656 §9)
constexpr uint64_t kAllocationRefreshMs = 300'000;  // we ask for 600 s
constexpr uint32_t kLifetimeS = 600;

std::mt19937_64& rng() {
  static std::mt19937_64 r{std::random_device{}()};
  return r;
}
}  // namespace

TurnClient::TurnClient(Server server, net::SocketAddress peer)
    : server_(std::move(server)), peer_(std::move(peer)) {}

size_t TurnClient::frame(const uint8_t* payload, size_t len, uint8_t* out) {
  out[0] = static_cast<uint8_t>(kChannel >> 8);
  out[1] = static_cast<uint8_t>(kChannel & 0xff);
  out[2] = static_cast<uint8_t>(len >> 8);
  out[3] = static_cast<uint8_t>(len & 0xff);
  std::copy(payload, payload + len, out + kHeader);
  return len + kHeader;  // UDP: no padding (RFC 8656 §12.5)
}

std::vector<uint8_t> TurnClient::build(Request r) {
  std::vector<uint8_t> buf(512);
  for (auto& b : tid_) b = static_cast<uint8_t>(rng()());
  const uint16_t method = r == Request::kAllocate      ? st::method::kAllocate
                          : r == Request::kChannelBind ? st::method::kChannelBind
                                                       : st::method::kRefresh;
  st::StunBuilder b(buf, st::MessageClass::kRequest, method, tid_);
  if (r == Request::kAllocate) {
    b.addRequestedTransport(17);  // UDP (RFC 8656 §18.7)
    b.addU32(st::attr::kLifetime, kLifetimeS);
  } else if (r == Request::kChannelBind) {
    b.addChannelNumber(kChannel);
    b.addXorAddress(st::attr::kXorPeerAddress, peer_.toStun());
  } else {
    b.addU32(st::attr::kLifetime, kLifetimeS);
  }
  if (!nonce_.empty()) {  // the first Allocate goes without: the 401 brings REALM and NONCE
    b.addString(st::attr::kUsername, server_.username);
    b.addString(st::attr::kRealm, realm_);
    b.addString(st::attr::kNonce, nonce_);
    b.addMessageIntegrity(*st::longTermKeyMd5(server_.username, realm_, server_.password));
  }
  b.addFingerprint();
  auto w = b.finish();
  return w ? std::vector<uint8_t>(w->begin(), w->end()) : std::vector<uint8_t>{};
}

std::optional<std::vector<uint8_t>> TurnClient::poll(uint64_t nowMs) {
  if (state_ == State::kFailed) return std::nullopt;
  if (pending_ != Request::kNone) {
    if (nowMs - sentAtMs_ < (kRetransmitMs << std::min(attempts_ - 1, 4))) return std::nullopt;
    if (attempts_ >= kMaxAttempts) {
      fail("no answer from the TURN server");
      return std::nullopt;
    }
    ++attempts_;
    sentAtMs_ = nowMs;
    return build(pending_);
  }
  if (next_ == Request::kNone && state_ == State::kReady) {
    if (nowMs - lastBindMs_ >= kChannelRefreshMs) {
      next_ = Request::kChannelBind;
    } else if (nowMs - lastRefreshMs_ >= kAllocationRefreshMs) {
      next_ = Request::kRefresh;
    }
  }
  if (next_ == Request::kNone) return std::nullopt;
  pending_ = next_;
  next_ = Request::kNone;
  attempts_ = 1;
  sentAtMs_ = nowMs;
  return build(pending_);
}

std::optional<std::span<uint8_t>> TurnClient::onDatagram(uint8_t* data, size_t len,
                                                         uint64_t nowMs) {
  if (len >= kHeader && data[0] >= 0x40 && data[0] <= 0x4f) {  // ChannelData (RFC 7983)
    const uint16_t ch = static_cast<uint16_t>((data[0] << 8) | data[1]);
    const size_t n = (static_cast<size_t>(data[2]) << 8) | data[3];
    if (ch != kChannel || n + kHeader > len) return std::nullopt;
    return std::span<uint8_t>(data + kHeader, n);
  }
  auto msg = st::StunMessage::parse({data, len});
  if (!msg || pending_ == Request::kNone || msg->transactionId() != tid_) return std::nullopt;
  const Request answered = pending_;
  pending_ = Request::kNone;
  if (msg->messageClass() == st::MessageClass::kErrorResponse) {
    const auto ec = msg->errorCode();
    const uint16_t code = ec ? ec->code : 0;
    if ((code == 401 || code == 438) && msg->nonce()) {
      // 401: first contact (REALM, NONCE); 438: stale nonce (RFC 8489 §9.2.5). Again with the
      // new nonce; a credential refused twice in a row is wrong.
      if (++authRetries_ > 2) {
        fail("TURN credential refused (" + std::to_string(code) + ")");
        return std::nullopt;
      }
      if (msg->realm()) realm_ = std::string(*msg->realm());
      nonce_ = std::string(*msg->nonce());
      next_ = answered;
      return std::nullopt;
    }
    fail("TURN error " + std::to_string(code) + " " + std::string(ec ? ec->reason : ""));
    return std::nullopt;
  }
  if (msg->messageClass() != st::MessageClass::kSuccessResponse) return std::nullopt;
  if (st::checkMessageIntegrity(*msg,
                                *st::longTermKeyMd5(server_.username, realm_, server_.password)) !=
      st::IntegrityResult::kOk) {
    fail("TURN response failed MESSAGE-INTEGRITY");
    return std::nullopt;
  }
  authRetries_ = 0;
  switch (answered) {
    case Request::kAllocate:
      if (auto r = msg->xorRelayedAddress()) relayed_ = net::SocketAddress::fromStun(*r);
      state_ = State::kBinding;
      lastRefreshMs_ = nowMs;
      next_ = Request::kChannelBind;
      break;
    case Request::kChannelBind:
      state_ = State::kReady;
      lastBindMs_ = nowMs;
      break;
    case Request::kRefresh:
      lastRefreshMs_ = nowMs;
      break;
    case Request::kNone:
      break;
  }
  return std::nullopt;
}

void TurnClient::fail(std::string why) {
  state_ = State::kFailed;
  failure_ = std::move(why);
}

}  // namespace medrelay::bench
