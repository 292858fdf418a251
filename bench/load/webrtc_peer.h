#pragma once
// One WebRTC endpoint of medrelay-load: a UDP socket towards medrelay's ICE-lite candidate, an
// ICE Binding check as the controlling agent (RFC 8445 §7.2), a DTLS client (the answer is
// setup:passive, RFC 5763 §5) and SRTP keyed from it (RFC 5764 §4.2). A publisher protects and
// sends RTP; a subscriber unprotects what the relay forwards and hands it to onMedia.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/load/turn_client.h"
#include "media/dtls_context.h"
#include "media/dtls_transport.h"
#include "media/srtp_session.h"
#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/stun/stun_message.h"
#include "net/udp_socket.h"

namespace medrelay::bench {

// What the relay's SDP answer told us.
struct RemoteDescription {
  std::string iceUfrag;
  std::string icePwd;
  std::string fingerprint;  // "sha-256 AB:CD:…"
  net::SocketAddress candidate;
};

// Extracts ice-ufrag, ice-pwd, fingerprint and the first UDP host candidate from an SDP answer.
std::optional<RemoteDescription> parseAnswer(const std::string& sdp);

// Our offer: BUNDLEd audio (Opus 111) + video (VP8 96), rtcp-mux, setup:actpass.
std::string writeOffer(bool publish, const std::string& ufrag, const std::string& pwd,
                       const std::string& fingerprint, uint32_t audioSsrc, uint32_t videoSsrc);

class WebRtcPeer : public net::UdpSocket::Callbacks, public media::DtlsTransport::Callbacks {
 public:
  // Decrypted RTP (header included).
  using MediaHandler = std::function<void(const uint8_t* data, size_t len)>;

  WebRtcPeer(net::Dispatcher& dispatcher, media::DtlsContext& dtls, std::string localUfrag,
             std::string localPwd);
  ~WebRtcPeer() override;

  // Binds a UDP socket on ip (any 127/8 address on loopback: one per participant keeps
  // medrelay's per-source TURN quota apart).
  bool openSocket(const std::string& ip = "127.0.0.1");
  // Before start(): reach the SFU through this TURN server (one allocation, one channel).
  void useTurn(TurnClient::Server server) { turnServer_ = std::move(server); }
  // Starts ICE checks towards the relay (through TURN once its channel is bound), then DTLS once
  // a check succeeded.
  bool start(const RemoteDescription& remote);
  void setMediaHandler(MediaHandler handler) { onMedia_ = std::move(handler); }
  // Decrypted RTCP from the relay (compound, header included); without a handler RTCP is
  // ignored.
  void setRtcpHandler(MediaHandler handler) { onRtcp_ = std::move(handler); }

  bool connected() const { return outbound_.has_value(); }
  bool failed() const { return failed_ || (turn_ && turn_->failed()); }
  const TurnClient* turn() const { return turn_.get(); }
  // Protects the RTP packet in buf (len bytes, capacity for the SRTP trailer) and sends it.
  bool sendRtp(uint8_t* buf, size_t len, size_t capacity);
  // The same for an RTCP compound packet (SRTCP, RFC 3711 §3.4).
  bool sendRtcp(uint8_t* buf, size_t len, size_t capacity);

  uint64_t unprotectFailures() const { return unprotectFailures_; }
  const net::UdpSocket* socket() const { return socket_.get(); }

 private:
  void onDatagram(const net::SocketAddress& from, uint8_t* data, size_t len) override;
  void onDtlsSend(const uint8_t* data, size_t len) override;
  void onDtlsConnected(media::SrtpProfile profile, const media::SrtpKeys& keys) override;
  void onDtlsFailed(media::DtlsFailure reason) override;
  void onDtlsClosed() override {}
  void onDtlsApplicationData(const uint8_t* /*data*/, size_t /*len*/) override {}
  void onTimer();
  void sendBindingRequest();
  void pumpTurn();
  // To the SFU: direct, or as ChannelData through the TURN server. `now` skips the batch.
  bool toSfu(const uint8_t* data, size_t len, bool now);
  void onSfuDatagram(uint8_t* data, size_t len);

  net::Dispatcher& dispatcher_;
  media::DtlsContext& dtlsContext_;
  std::string localUfrag_;
  std::string localPwd_;
  RemoteDescription remote_;
  std::unique_ptr<net::UdpSocket> socket_;
  std::unique_ptr<media::DtlsTransport> dtls_;
  net::Timer iceTimer_;
  net::stun::StunMessage::TransactionId tid_{};
  bool iceDone_ = false;
  bool failed_ = false;
  std::optional<media::SrtpSession> outbound_;
  std::optional<media::SrtpSession> inbound_;
  MediaHandler onMedia_;
  MediaHandler onRtcp_;
  std::optional<TurnClient::Server> turnServer_;
  std::unique_ptr<TurnClient> turn_;
  std::vector<uint8_t> frame_;
  bool iceStarted_ = false;
  uint64_t unprotectFailures_ = 0;
};

}  // namespace medrelay::bench
