#include "media/worker_transport.h"

#include "net/stun/channel_data.h"
#include "net/stun/stun_message.h"

namespace medrelay::media {

namespace stun = net::stun;

namespace {
constexpr size_t kMinRtpSize = 12;  // RFC 3550 §5.1 fixed header
constexpr size_t kMinRtcpSize = 8;  // RFC 3550 §6.4.1 header + SSRC
}  // namespace

const char* WorkerTransport::dropName(Drop d) {
  switch (d) {
    case Drop::kBadStun:
      return "bad_stun";
    case Drop::kIceRejected:
      return "ice_rejected";
    case Drop::kNotStun:
      return "not_stun";
    case Drop::kShortPacket:
      return "short_packet";
    case Drop::kUnknownKind:
      return "unknown_kind";
    case Drop::kUnknownTuple:
      return "unknown_tuple";
    case Drop::kUnknownUfrag:
      return "unknown_ufrag";
    case Drop::kCount:
      break;
  }
  return "unknown";
}

net::StreamListener::Options iceTcpListenerOptions() {
  net::StreamListener::Options o;
  o.framing = std::make_shared<net::Rfc4571Framing>();
  o.maxConnections = 1024;
  o.maxQueuedBytes = kIceTcpQueuedBytes;
  o.idleRule = net::StreamListener::IdleRule::kUntilAuthenticated;
  o.idleTimeout = std::chrono::milliseconds(10000);
  return o;
}

Result<std::unique_ptr<WorkerTransport>> WorkerTransport::create(net::Dispatcher& dispatcher,
                                                                 const Config& config) {
  if (config.udp.size() > 255 || config.tcp.size() > 255) {
    return makeError("bad_config", "at most 255 UDP sockets and 255 TCP listeners per worker");
  }
  std::unique_ptr<WorkerTransport> t(new WorkerTransport(dispatcher));
  for (size_t i = 0; i < config.udp.size(); ++i) {
    auto slot = std::make_unique<UdpSlot>();
    slot->owner = t.get();
    slot->index = static_cast<uint8_t>(i);
    auto options = config.udpOptions;
    options.bind = config.udp[i];
    auto socket = net::UdpSocket::open(dispatcher, options, *slot);
    if (!socket) return socket.error();
    t->udpSlots_.push_back(std::move(slot));
    t->udp_.push_back(std::move(socket.value()));
  }
  for (size_t i = 0; i < config.tcp.size(); ++i) {
    auto slot = std::make_unique<TcpSlot>();
    slot->owner = t.get();
    slot->index = static_cast<uint8_t>(i);
    auto options = config.tcpOptions;
    options.bind = config.tcp[i];
    auto listener = net::StreamListener::open(dispatcher, options, *slot);
    if (!listener) return listener.error();
    slot->listener = std::move(listener.value());
    t->tcp_.push_back(std::move(slot));
  }
  return t;
}

WorkerTransport::~WorkerTransport() = default;

void WorkerTransport::UdpSlot::onDatagram(const net::SocketAddress& from, uint8_t* data,
                                          size_t len) {
  net::TransportTuple tuple;
  tuple.protocol = net::TransportProtocol::kUdp;
  tuple.localIndex = index;
  tuple.remote = from;
  owner->onPacket(tuple, data, len);
}

void WorkerTransport::TcpSlot::onFrame(uint32_t id, const net::SocketAddress& from, uint8_t* data,
                                       size_t len) {
  net::TransportTuple tuple;
  tuple.protocol = net::TransportProtocol::kTcp;
  tuple.localIndex = index;
  tuple.connectionId = id;
  tuple.remote = from;
  owner->onPacket(tuple, data, len);
}

void WorkerTransport::TcpSlot::onConnectionClosed(uint32_t id, const net::SocketAddress& from) {
  net::TransportTuple tuple;
  tuple.protocol = net::TransportProtocol::kTcp;
  tuple.localIndex = index;
  tuple.connectionId = id;
  tuple.remote = from;
  owner->onTcpClosed(tuple);
}

Result<void> WorkerTransport::addSession(IceLite& agent, MediaSession& media) {
  if (sessions_.count(&agent) != 0) return makeError("duplicate_session", "already registered");
  if (byUfrag_.count(agent.localUfrag()) != 0) {
    return makeError("duplicate_ufrag", "local ufrag already in use on this worker");
  }
  auto e = std::make_unique<Entry>();
  e->agent = &agent;
  e->media = &media;
  e->ufrag = agent.localUfrag();
  byUfrag_.emplace(e->ufrag, e.get());
  sessions_.emplace(&agent, std::move(e));
  return {};
}

void WorkerTransport::removeSession(IceLite& agent) {
  const auto it = sessions_.find(&agent);
  if (it == sessions_.end()) return;
  Entry* e = it->second.get();
  byUfrag_.erase(e->ufrag);
  std::erase_if(byTuple_, [e](const auto& kv) { return kv.second == e; });
  sessions_.erase(it);
}

void WorkerTransport::restartIce(IceLite& agent, std::string_view remoteUfrag,
                                 std::string_view remotePassword) {
  const auto it = sessions_.find(&agent);
  if (it == sessions_.end()) {
    agent.restart(remoteUfrag, remotePassword);
    return;
  }
  Entry& e = *it->second;
  byUfrag_.erase(e.ufrag);
  // A fresh ufrag colliding with another session's is practically impossible (48 random bits);
  // retry rather than route two sessions through one key.
  do {
    agent.restart(remoteUfrag, remotePassword);
  } while (byUfrag_.count(agent.localUfrag()) != 0);
  e.ufrag = agent.localUfrag();
  byUfrag_.emplace(e.ufrag, &e);
  syncTuples(e);
}

void WorkerTransport::syncTuples(Entry& e) {
  std::erase_if(byTuple_, [&e](const auto& kv) {
    return kv.second == &e && !e.agent->isValidPair(kv.first);
  });
}

void WorkerTransport::onTcpClosed(const net::TransportTuple& tuple) {
  const auto it = byTuple_.find(tuple);
  if (it == byTuple_.end()) return;
  Entry* e = it->second;
  byTuple_.erase(it);
  e->agent->removePair(tuple);
}

void WorkerTransport::onLocalRelayPacket(uint8_t udpIndex, const net::SocketAddress& relayed,
                                         uint8_t* data, size_t len) {
  ++counters_.localRelayIn;
  net::TransportTuple tuple;
  tuple.protocol = net::TransportProtocol::kUdp;
  tuple.localIndex = udpIndex;
  tuple.connectionId = kLocalRelayConnection;
  tuple.remote = relayed;
  onPacket(tuple, data, len);
}

bool WorkerTransport::sendLocal(const net::TransportTuple& to, const uint8_t* data, size_t len) {
  if (localRelay_ != nullptr && localRelay_->sendToRelayed(to.remote, data, len)) {
    ++counters_.localRelayOut;
    return true;
  }
  ++counters_.localRelayKernel;
  return false;
}

bool WorkerTransport::send(const net::TransportTuple& to, const uint8_t* data, size_t len) {
  if (to.protocol == net::TransportProtocol::kUdp) {
    if (to.connectionId == kLocalRelayConnection && sendLocal(to, data, len)) return true;
    if (to.localIndex < udp_.size()) return udp_[to.localIndex]->send(to.remote, data, len);
  } else if (to.localIndex < tcp_.size()) {
    return tcp_[to.localIndex]->listener->send(to.connectionId, data, len);
  }
  ++counters_.sendNoTransport;
  return false;
}

bool WorkerTransport::sendNow(const net::TransportTuple& to, const uint8_t* data, size_t len) {
  if (to.protocol == net::TransportProtocol::kUdp) {
    if (to.connectionId == kLocalRelayConnection && sendLocal(to, data, len)) return true;
    if (to.localIndex < udp_.size()) return udp_[to.localIndex]->sendNow(to.remote, data, len);
  } else if (to.localIndex < tcp_.size()) {
    return tcp_[to.localIndex]->listener->send(to.connectionId, data, len);
  }
  ++counters_.sendNoTransport;
  return false;
}

void WorkerTransport::onPacket(const net::TransportTuple& from, uint8_t* data, size_t len) {
  const std::span<const uint8_t> bytes(data, len);
  const auto kind = stun::classifyPacket(bytes);
  const auto it = byTuple_.find(from);
  Entry* known = it == byTuple_.end() ? nullptr : it->second;
  if (kind == stun::PacketKind::kStun) {
    ++counters_.stunIn;
    handleStun(from, data, len, known);
    return;
  }
  if (known == nullptr) {
    // Media before a passed check (RFC 8445 §7.3: only valid pairs carry data).
    const bool media = kind == stun::PacketKind::kDtls || kind == stun::PacketKind::kRtpRtcp;
    drop(media ? Drop::kUnknownTuple : Drop::kNotStun);
    return;
  }
  switch (kind) {
    case stun::PacketKind::kDtls:
      ++counters_.dtlsIn;
      known->media->onDtlsPacket(from, data, len);
      return;
    case stun::PacketKind::kRtpRtcp: {
      // RFC 5761 §4: RTCP packet types 192..223 sit where RTP has marker + payload type.
      const bool rtcp = len >= 2 && data[1] >= 192 && data[1] <= 223;
      if (len < (rtcp ? kMinRtcpSize : kMinRtpSize)) {
        drop(Drop::kShortPacket);
        return;
      }
      if (rtcp) {
        ++counters_.rtcpIn;
        known->media->onRtcpPacket(from, data, len);
      } else {
        ++counters_.rtpIn;
        known->media->onRtpPacket(from, data, len);
      }
      return;
    }
    default:
      drop(Drop::kUnknownKind);
      return;
  }
}

void WorkerTransport::handleStun(const net::TransportTuple& from, uint8_t* data, size_t len,
                                 Entry* known) {
  const auto msg = stun::StunMessage::parse(std::span<const uint8_t>(data, len));
  if (!msg) {
    drop(Drop::kBadStun);
    return;
  }
  const bool request = msg->messageClass() == stun::MessageClass::kRequest &&
                       msg->method() == stun::method::kBinding;
  // Binding requests are routed by the local ufrag in USERNAME (RFC 8445 §7.2.2), whatever tuple
  // they come from: that is how a new tuple (or a peer that moved) finds its session.
  Entry* e = nullptr;
  if (request) {
    if (const auto user = msg->username()) {
      const auto found = byUfrag_.find(user->substr(0, user->find(':')));
      if (found != byUfrag_.end()) e = found->second;
    }
  }
  if (e == nullptr) e = known;  // its agent answers (401, 400) or counts the keepalive
  if (e == nullptr) {
    drop(request ? Drop::kUnknownUfrag : Drop::kUnknownTuple);
    return;
  }
  const auto result = e->agent->handleStun(from, *msg, response_);
  if (!result.response.empty() && sendNow(from, result.response.data(), result.response.size())) {
    ++counters_.stunResponsesOut;
  }
  if (!result.success) {
    drop(Drop::kIceRejected);
    return;
  }
  if (result.evicted) {
    const auto old = byTuple_.find(*result.evicted);
    if (old != byTuple_.end() && old->second == e) byTuple_.erase(old);
  }
  // Allocates only the first time a tuple passes a check.
  byTuple_.insert_or_assign(from, e);
  if (from.protocol == net::TransportProtocol::kTcp && from.localIndex < tcp_.size()) {
    tcp_[from.localIndex]->listener->markAuthenticated(from.connectionId);
  }
}

}  // namespace medrelay::media
