#pragma once
// SCTP over DTLS (RFC 8261) for WebRTC data channels (RFC 8831), with usrsctp in its no-threads
// mode: SCTP packets from the DTLS transport go in through receive(), packets usrsctp sends come
// out through Callbacks::onSctpSend, and usrsctp's timers run on the owning worker's libuv loop
// (one 10 ms timer per worker with associations; the stack's clock is process-wide, see
// sctp_association.cpp). Channels open by DCEP (RFC 8832) or are negotiated out of band
// (RFC 8831 §6.5; the chat's is chat::kNegotiatedStream). The relay never opens channels itself:
// it answers opens and sends on the channels the peer opened.
//
// Everything runs on the owning Dispatcher's thread, except that usrsctp may produce a packet or
// a notification while another worker drives the shared timers: that is handed to the owner with
// Dispatcher::post. Packet path: no exceptions; a message is reassembled into one buffer sized at
// creation (the configured maximum), so receiving allocates nothing of ours.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "media/dcep.h"
#include "net/dispatcher.h"

struct socket;  // usrsctp

namespace medrelay::media {

struct DataChannel {
  uint16_t stream = 0;
  dcep::ChannelType type;
  std::string label;  // at most kMaxLabel bytes
  bool negotiated = false;
};

class SctpTicker;

class SctpAssociation {
 public:
  // Why a message or an open was refused (counted by the owner; docs/media.md "Data channels").
  enum class Refusal : uint8_t {
    kTooLarge,        // above Options::maxMessageSize: the channel is closed
    kBadDcep,         // a DCEP message that does not parse, or an ACK we did not ask for
    kUnknownChannel,  // data on a stream with no channel
    kBadPpid,         // a PPID data channels do not use, or a deprecated partial one
    kInterleaved,     // a message began before the last one ended
  };
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // One SCTP packet for the DTLS transport (RFC 8261 §4: one packet per DTLS record).
    virtual void onSctpSend(const uint8_t* data, size_t len) = 0;
    virtual void onSctpConnected() = 0;
    // The association ended (ABORT, SHUTDOWN, or it never came up).
    virtual void onSctpClosed() = 0;
    virtual void onDataChannelOpen(const DataChannel& channel) = 0;
    // A whole message; `data` is valid for the call.
    virtual void onDataChannelMessage(const DataChannel& channel, bool binary, const uint8_t* data,
                                      size_t len) = 0;
    virtual void onDataChannelClosed(const DataChannel& channel) = 0;
    virtual void onDataChannelRefused(Refusal reason) = 0;
  };
  struct Options {
    uint16_t localPort = 5000;            // our a=sctp-port (RFC 8841 §5)
    uint16_t remotePort = 5000;           // the offer's a=sctp-port
    size_t maxMessageSize = 65536;        // what we accept (our a=max-message-size)
    size_t remoteMaxMessageSize = 65536;  // what the peer accepts (its a=max-message-size)
    // A negotiated channel (RFC 8831 §6.5) that exists from the start: stream and label.
    uint16_t negotiatedStream = 1000;
    std::string negotiatedLabel = "chat";
  };
  static constexpr size_t kMaxLabel = 256;
  static constexpr uint16_t kStreams = 1024;  // in and out (RFC 8831 §6.2 asks for many)
  static constexpr uint32_t kMtu = 1200;      // SCTP packets fit one DTLS record in one datagram

  // Nullptr if usrsctp refuses the socket (logged). Connects at once (both sides send INIT,
  // RFC 8841 §4 and RFC 9260 §5.2.4 handle the collision).
  static std::unique_ptr<SctpAssociation> create(net::Dispatcher& dispatcher, Callbacks& callbacks,
                                                 Options options);
  ~SctpAssociation();
  SctpAssociation(const SctpAssociation&) = delete;
  SctpAssociation& operator=(const SctpAssociation&) = delete;

  // One SCTP packet decrypted by DTLS.
  void receive(const uint8_t* data, size_t len);
  // A message on an open channel, with the channel's ordering and reliability. False if the
  // channel is unknown, the message is above the peer's maximum, or usrsctp's send buffer is full.
  bool send(uint16_t stream, bool binary, const uint8_t* data, size_t len);
  // Opens a channel with DCEP (RFC 8832 §6) and treats it as open at once (RFC 8832 §6 lets the
  // opener send before the ACK). For tests and tools: the relay itself only answers opens.
  bool openChannel(uint16_t stream, std::string_view label, dcep::ChannelType type);
  // Resets our outgoing stream (RFC 8831 §6.7); the peer resets its own and the channel is gone.
  void closeChannel(uint16_t stream);

  bool connected() const { return connected_; }
  const DataChannel* channel(uint16_t stream) const;
  size_t channelCount() const { return channels_.size(); }

  // Called by the stack glue (sctp_association.cpp) on the owner's thread.
  void onOutput(const uint8_t* data, size_t len) { callbacks_.onSctpSend(data, len); }
  void drain();
  bool busy() const { return inInput_ || draining_; }
  uintptr_t id() const { return id_; }
  net::Dispatcher& dispatcher() { return dispatcher_; }

 private:
  SctpAssociation(net::Dispatcher& dispatcher, Callbacks& callbacks, Options options);
  bool open();
  void onMessage(uint16_t stream, uint32_t ppid, const uint8_t* data, size_t len);
  void onNotification(const uint8_t* data, size_t len);
  void onDcep(uint16_t stream, const uint8_t* data, size_t len);
  void resetOutgoing(uint16_t stream);
  bool sendRaw(uint16_t stream, uint32_t ppid, const dcep::ChannelType& type, const void* data,
               size_t len);

  net::Dispatcher& dispatcher_;
  Callbacks& callbacks_;
  Options options_;
  std::shared_ptr<SctpTicker> ticker_;
  struct socket* sock_ = nullptr;
  uintptr_t id_ = 0;  // our AF_CONN address in usrsctp (never dereferenced)
  bool connected_ = false;
  bool closed_ = false;
  bool inInput_ = false;
  bool draining_ = false;
  std::unordered_map<uint16_t, DataChannel> channels_;
  // One message being reassembled (MSG_EOR ends it), sized once at maxMessageSize + 1.
  std::vector<uint8_t> message_;
  size_t fill_ = 0;
  int messageStream_ = -1;   // stream of the message being reassembled
  bool discarding_ = false;  // the current message went over the maximum
};

}  // namespace medrelay::media
