#include "media/sctp_association.h"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include "common/logging.h"

namespace medrelay::media {

// usrsctp keeps one stack per process (usrsctp_init_nothreads) with one clock for all timers.
// Every worker that holds associations runs a 10 ms loop timer (SctpTicker); whichever fires
// advances the shared clock by the real time since the last advance (usrsctp_handle_timers), so
// the clock runs at real speed however many workers tick. Timers may therefore produce a packet
// or a notification for another worker's association: connOutput and the upcall hand that to
// the owner's loop with Dispatcher::post, looking the association up by its id in a registry
// that its owner leaves before destroying it.
class SctpTicker {
 public:
  explicit SctpTicker(net::Dispatcher& dispatcher);

 private:
  net::Timer timer_;
};

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kTick{10};

struct Stack {
  std::mutex registryMutex;
  std::unordered_map<uintptr_t, SctpAssociation*> registry;
  std::atomic<uintptr_t> nextId{1};
  std::mutex tickMutex;
  Clock::time_point lastTick;
  std::mutex tickersMutex;
  std::unordered_map<net::Dispatcher*, std::weak_ptr<SctpTicker>> tickers;
};

Stack& stack() {
  static Stack s;
  return s;
}

void* addrOf(uintptr_t id) {
  return reinterpret_cast<void*>(id);  // NOLINT(performance-no-int-to-ptr): an opaque key
}

// Runs fn(association) on the owner's loop: at once when called there, else posted.
template <typename Fn>
void onOwner(uintptr_t id, Fn fn) {
  Stack& s = stack();
  std::unique_lock lock(s.registryMutex);
  auto it = s.registry.find(id);
  if (it == s.registry.end()) return;
  SctpAssociation* a = it->second;
  if (a->dispatcher().isLoopThread()) {
    lock.unlock();  // only the owner's thread destroys it
    fn(*a);
    return;
  }
  a->dispatcher().post([id, fn = std::move(fn)]() mutable {
    Stack& st = stack();
    SctpAssociation* owner = nullptr;
    {
      std::lock_guard g(st.registryMutex);
      auto found = st.registry.find(id);
      if (found != st.registry.end()) owner = found->second;
    }
    if (owner != nullptr) fn(*owner);
  });
}

int connOutput(void* addr, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*setDf*/) {
  const auto id = reinterpret_cast<uintptr_t>(addr);
  const auto* bytes = static_cast<const uint8_t*>(buffer);
  Stack& s = stack();
  {
    std::unique_lock lock(s.registryMutex);
    auto it = s.registry.find(id);
    if (it == s.registry.end()) return 0;
    SctpAssociation* a = it->second;
    if (a->dispatcher().isLoopThread()) {
      lock.unlock();
      a->onOutput(bytes, length);
      return 0;
    }
  }
  // A timer fired on another worker (retransmission, heartbeat): copy and hand over.
  onOwner(id, [copy = std::vector<uint8_t>(bytes, bytes + length)](SctpAssociation& a) {
    a.onOutput(copy.data(), copy.size());
  });
  return 0;
}

void upcall(struct socket* /*sock*/, void* arg, int /*flags*/) {
  // Readable: inside receive() the owner drains right after usrsctp returns; otherwise (a timer
  // delivered a notification) drain on the owner's next loop iteration, outside usrsctp's locks.
  const auto id = reinterpret_cast<uintptr_t>(arg);
  Stack& s = stack();
  std::lock_guard lock(s.registryMutex);
  auto it = s.registry.find(id);
  if (it == s.registry.end()) return;
  SctpAssociation* owner = it->second;
  if (owner->dispatcher().isLoopThread() && owner->busy()) return;
  owner->dispatcher().post([id] {
    SctpAssociation* a = nullptr;
    {
      std::lock_guard g(stack().registryMutex);
      auto found = stack().registry.find(id);
      if (found != stack().registry.end()) a = found->second;
    }
    if (a != nullptr) a->drain();
  });
}

void tickStack() {
  Stack& s = stack();
  std::unique_lock lock(s.tickMutex, std::try_to_lock);
  if (!lock) return;  // another worker is advancing the clock right now
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - s.lastTick);
  if (elapsed.count() <= 0) return;
  s.lastTick += elapsed;
  usrsctp_handle_timers(static_cast<uint32_t>(elapsed.count()));
}

void initStack() {
  static std::once_flag once;
  std::call_once(once, [] {
    usrsctp_init_nothreads(0, connOutput, nullptr);  // port 0: no UDP encapsulation
    usrsctp_sysctl_set_sctp_ecn_enable(0);           // no ECN below DTLS (RFC 8261 §5)
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    stack().lastTick = Clock::now();
  });
}

std::shared_ptr<SctpTicker> tickerFor(net::Dispatcher& dispatcher) {
  Stack& s = stack();
  std::lock_guard lock(s.tickersMutex);
  auto& weak = s.tickers[&dispatcher];
  if (auto t = weak.lock()) return t;
  auto t = std::make_shared<SctpTicker>(dispatcher);
  weak = t;
  return t;
}

template <typename T>
bool setOpt(struct socket* sock, int level, int name, const T& value) {
  return usrsctp_setsockopt(sock, level, name, &value, sizeof(value)) == 0;
}

}  // namespace

SctpTicker::SctpTicker(net::Dispatcher& dispatcher) : timer_(dispatcher, [] { tickStack(); }) {
  timer_.start(kTick, kTick);
}

SctpAssociation::SctpAssociation(net::Dispatcher& dispatcher, Callbacks& callbacks, Options options)
    : dispatcher_(dispatcher), callbacks_(callbacks), options_(std::move(options)) {
  initStack();
  ticker_ = tickerFor(dispatcher_);
  id_ = stack().nextId.fetch_add(1);
  message_.resize(options_.maxMessageSize + 1);
  {
    std::lock_guard lock(stack().registryMutex);
    stack().registry[id_] = this;
  }
  usrsctp_register_address(addrOf(id_));
}

SctpAssociation::~SctpAssociation() {
  {
    std::lock_guard lock(stack().registryMutex);
    stack().registry.erase(id_);
  }
  if (sock_ != nullptr) {
    usrsctp_set_upcall(sock_, nullptr, nullptr);
    usrsctp_close(sock_);  // SO_LINGER 0: ABORT, nothing lingers
  }
  usrsctp_deregister_address(addrOf(id_));
}

std::unique_ptr<SctpAssociation> SctpAssociation::create(net::Dispatcher& dispatcher,
                                                         Callbacks& callbacks, Options options) {
  std::unique_ptr<SctpAssociation> a(
      new SctpAssociation(dispatcher, callbacks, std::move(options)));
  if (!a->open()) {
    MR_LOG_WARN(log::get("dtls"), "sctp: cannot open an association: {}", std::strerror(errno));
    return nullptr;
  }
  return a;
}

bool SctpAssociation::open() {
  sock_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  if (sock_ == nullptr) return false;
  usrsctp_set_upcall(sock_, upcall, addrOf(id_));
  if (usrsctp_set_non_blocking(sock_, 1) != 0) return false;
  const linger noLinger{1, 0};
  sctp_assoc_value reset{};
  reset.assoc_id = SCTP_ALL_ASSOC;
  reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;  // closing channels (RFC 8831 §6.7)
  const int on = 1;
  sctp_initmsg init{};
  init.sinit_num_ostreams = kStreams;
  init.sinit_max_instreams = kStreams;
  sctp_paddrparams paddr{};
  paddr.spp_flags = SPP_PMTUD_DISABLE;  // RFC 8261 §5: the DTLS path's MTU, fixed
  paddr.spp_pathmtu = kMtu;
  bool ok = setOpt(sock_, SOL_SOCKET, SO_LINGER, noLinger) &&
            setOpt(sock_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset) &&
            setOpt(sock_, IPPROTO_SCTP, SCTP_RECVRCVINFO, on) &&
            setOpt(sock_, IPPROTO_SCTP, SCTP_NODELAY, on) &&
            setOpt(sock_, IPPROTO_SCTP, SCTP_INITMSG, init) &&
            setOpt(sock_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, paddr);
  for (const uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT}) {
    sctp_event ev{};
    ev.se_assoc_id = SCTP_ALL_ASSOC;
    ev.se_type = type;
    ev.se_on = 1;
    ok = ok && setOpt(sock_, IPPROTO_SCTP, SCTP_EVENT, ev);
  }
  if (!ok) return false;
  sockaddr_conn local{};
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(options_.localPort);
  local.sconn_addr = addrOf(id_);
  if (usrsctp_bind(sock_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) return false;
  sockaddr_conn remote = local;
  remote.sconn_port = htons(options_.remotePort);
  if (usrsctp_connect(sock_, reinterpret_cast<sockaddr*>(&remote), sizeof(remote)) != 0 &&
      errno != EINPROGRESS) {
    return false;
  }
  if (!options_.negotiatedLabel.empty()) {
    DataChannel& ch = channels_[options_.negotiatedStream];
    ch.stream = options_.negotiatedStream;
    ch.label = options_.negotiatedLabel;
    ch.negotiated = true;
  }
  return true;
}

void SctpAssociation::receive(const uint8_t* data, size_t len) {
  if (sock_ == nullptr || closed_ || len == 0) return;
  inInput_ = true;
  usrsctp_conninput(addrOf(id_), data, len, 0);
  inInput_ = false;
  drain();
}

void SctpAssociation::drain() {
  if (sock_ == nullptr || draining_) return;
  draining_ = true;
  for (;;) {
    uint8_t* dst = discarding_ ? message_.data() : message_.data() + fill_;
    const size_t cap = discarding_ ? message_.size() : message_.size() - fill_;
    sctp_rcvinfo info{};
    socklen_t infoLen = sizeof(info);
    unsigned int infoType = 0;
    int flags = 0;
    sockaddr_conn from{};
    socklen_t fromLen = sizeof(from);
    const ssize_t n = usrsctp_recvv(sock_, dst, cap, reinterpret_cast<sockaddr*>(&from), &fromLen,
                                    &info, &infoLen, &infoType, &flags);
    if (n < 0) break;  // EWOULDBLOCK: drained (or the socket is gone)
    if (n == 0 && flags == 0) {
      // The association shut down.
      if (!closed_) {
        closed_ = true;
        connected_ = false;
        callbacks_.onSctpClosed();
      }
      break;
    }
    const auto got = static_cast<size_t>(n);
    if ((flags & MSG_NOTIFICATION) != 0) {
      if ((flags & MSG_EOR) != 0) onNotification(dst, got);
      continue;
    }
    if (messageStream_ >= 0 && messageStream_ != info.rcv_sid) {
      // Pieces of two messages interleaved (only I-DATA, RFC 8260, does that): drop the first.
      callbacks_.onDataChannelRefused(Refusal::kInterleaved);
      if (dst != message_.data()) std::memmove(message_.data(), dst, got);
      fill_ = 0;
      discarding_ = false;
    }
    messageStream_ = info.rcv_sid;
    if (!discarding_) fill_ += got;
    if ((flags & MSG_EOR) == 0) {
      if (fill_ > options_.maxMessageSize) discarding_ = true;
      continue;
    }
    const auto stream = static_cast<uint16_t>(messageStream_);
    const bool tooLarge = discarding_ || fill_ > options_.maxMessageSize;
    const size_t len = fill_;
    fill_ = 0;
    messageStream_ = -1;
    discarding_ = false;
    if (tooLarge) {
      // Refused above our a=max-message-size (RFC 8841 §6): the channel is closed.
      callbacks_.onDataChannelRefused(Refusal::kTooLarge);
      closeChannel(stream);
      continue;
    }
    onMessage(stream, ntohl(info.rcv_ppid), message_.data(), len);
  }
  draining_ = false;
}

void SctpAssociation::onMessage(uint16_t stream, uint32_t ppid, const uint8_t* data, size_t len) {
  using dcep::Ppid;
  switch (static_cast<Ppid>(ppid)) {
    case Ppid::kDcep:
      onDcep(stream, data, len);
      return;
    case Ppid::kString:
    case Ppid::kBinary:
    case Ppid::kStringEmpty:
    case Ppid::kBinaryEmpty:
      break;
    default:
      callbacks_.onDataChannelRefused(Refusal::kBadPpid);
      return;
  }
  auto it = channels_.find(stream);
  if (it == channels_.end()) {
    callbacks_.onDataChannelRefused(Refusal::kUnknownChannel);
    return;
  }
  const auto p = static_cast<Ppid>(ppid);
  const bool binary = p == Ppid::kBinary || p == Ppid::kBinaryEmpty;
  // RFC 8831 §6.6: an empty message travels as one byte with the "empty" PPID.
  const bool empty = p == Ppid::kStringEmpty || p == Ppid::kBinaryEmpty;
  callbacks_.onDataChannelMessage(it->second, binary, data, empty ? 0 : len);
}

void SctpAssociation::onDcep(uint16_t stream, const uint8_t* data, size_t len) {
  if (dcep::isAck(data, len)) return;  // we open no channels; a stray ACK changes nothing
  const auto open = dcep::parseOpen(data, len);
  if (!open || open->label.size() > kMaxLabel) {
    callbacks_.onDataChannelRefused(Refusal::kBadDcep);
    return;
  }
  DataChannel& ch = channels_[stream];
  ch.stream = stream;
  ch.type = open->type;
  ch.label.assign(open->label);
  ch.negotiated = false;
  // RFC 8832 §6: the ACK goes back on the same stream, ordered and reliable.
  const uint8_t ack = dcep::kMessageAck;
  (void)sendRaw(stream, static_cast<uint32_t>(dcep::Ppid::kDcep), dcep::ChannelType{}, &ack, 1);
  callbacks_.onDataChannelOpen(ch);
}

void SctpAssociation::onNotification(const uint8_t* data, size_t len) {
  decltype(sctp_notification::sn_header) header{};
  if (len < sizeof(header)) return;
  std::memcpy(&header, data, sizeof(header));  // the buffer may be unaligned
  if (header.sn_type == SCTP_ASSOC_CHANGE && len >= sizeof(sctp_assoc_change)) {
    sctp_assoc_change change{};
    std::memcpy(&change, data, sizeof(change));
    if (change.sac_state == SCTP_COMM_UP && !connected_ && !closed_) {
      connected_ = true;
      callbacks_.onSctpConnected();
      auto it = channels_.find(options_.negotiatedStream);
      if (it != channels_.end() && it->second.negotiated) callbacks_.onDataChannelOpen(it->second);
    } else if ((change.sac_state == SCTP_COMM_LOST || change.sac_state == SCTP_SHUTDOWN_COMP ||
                change.sac_state == SCTP_CANT_STR_ASSOC) &&
               !closed_) {
      closed_ = true;
      connected_ = false;
      callbacks_.onSctpClosed();
    }
    return;
  }
  if (header.sn_type == SCTP_STREAM_RESET_EVENT && len >= sizeof(sctp_stream_reset_event)) {
    sctp_stream_reset_event event{};
    std::memcpy(&event, data, sizeof(event));
    if ((event.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) == 0) return;
    // The peer closed its side of these channels: close ours (RFC 8831 §6.7).
    const size_t count = (std::min<size_t>(len, event.strreset_length) - sizeof(event)) / 2;
    for (size_t i = 0; i < count; ++i) {
      uint16_t stream = 0;
      std::memcpy(&stream, data + sizeof(event) + 2 * i, sizeof(stream));
      closeChannel(stream);
    }
  }
}

void SctpAssociation::closeChannel(uint16_t stream) {
  auto it = channels_.find(stream);
  if (it == channels_.end()) return;
  const DataChannel closed = std::move(it->second);
  channels_.erase(it);
  resetOutgoing(stream);
  callbacks_.onDataChannelClosed(closed);
}

void SctpAssociation::resetOutgoing(uint16_t stream) {
  if (sock_ == nullptr || !connected_) return;
  alignas(sctp_reset_streams) uint8_t buf[sizeof(sctp_reset_streams) + sizeof(uint16_t)] = {};
  auto* srs = reinterpret_cast<sctp_reset_streams*>(buf);
  srs->srs_assoc_id = SCTP_ALL_ASSOC;
  srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  srs->srs_number_streams = 1;
  std::memcpy(buf + sizeof(sctp_reset_streams), &stream, sizeof(stream));
  (void)usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_RESET_STREAMS, buf, sizeof(buf));
}

bool SctpAssociation::openChannel(uint16_t stream, std::string_view label, dcep::ChannelType type) {
  if (!connected_ || label.size() > kMaxLabel) return false;
  uint8_t buf[12 + kMaxLabel];
  dcep::Open open;
  open.type = type;
  open.label = label;
  const size_t len = dcep::writeOpen(buf, sizeof(buf), open);
  if (len == 0) return false;
  if (!sendRaw(stream, static_cast<uint32_t>(dcep::Ppid::kDcep), dcep::ChannelType{}, buf, len)) {
    return false;
  }
  DataChannel& ch = channels_[stream];
  ch.stream = stream;
  ch.type = type;
  ch.label.assign(label);
  ch.negotiated = false;
  return true;
}

const DataChannel* SctpAssociation::channel(uint16_t stream) const {
  auto it = channels_.find(stream);
  return it == channels_.end() ? nullptr : &it->second;
}

bool SctpAssociation::send(uint16_t stream, bool binary, const uint8_t* data, size_t len) {
  if (!connected_ || closed_) return false;
  auto it = channels_.find(stream);
  if (it == channels_.end() || len > options_.remoteMaxMessageSize) return false;
  using dcep::Ppid;
  if (len == 0) {
    const uint8_t zero = 0;  // RFC 8831 §6.6
    const auto ppid = static_cast<uint32_t>(binary ? Ppid::kBinaryEmpty : Ppid::kStringEmpty);
    return sendRaw(stream, ppid, it->second.type, &zero, 1);
  }
  return sendRaw(stream, static_cast<uint32_t>(binary ? Ppid::kBinary : Ppid::kString),
                 it->second.type, data, len);
}

bool SctpAssociation::sendRaw(uint16_t stream, uint32_t ppid, const dcep::ChannelType& type,
                              const void* data, size_t len) {
  if (sock_ == nullptr) return false;
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = stream;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (type.unordered ? SCTP_UNORDERED : 0);
  // Partial reliability (RFC 8831 §6.1, RFC 3758): the channel's limit on retransmissions or
  // lifetime.
  if (type.reliability == dcep::Reliability::kMaxRetransmits) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
    spa.sendv_prinfo.pr_value = type.parameter;
  } else if (type.reliability == dcep::Reliability::kMaxLifetime) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
    spa.sendv_prinfo.pr_value = type.parameter;
  }
  inInput_ = true;  // packets go out synchronously; readiness is drained by our caller's path
  const ssize_t r =
      usrsctp_sendv(sock_, data, len, nullptr, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
  inInput_ = false;
  return r == static_cast<ssize_t>(len);
}

}  // namespace medrelay::media
