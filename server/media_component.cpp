#include "server/media_component.h"

namespace medrelay::server {
namespace {

signalling::WhipEndpoint::Options endpointOptions(const Config::Media& media) {
  signalling::WhipEndpoint::Options o;
  o.listenIp = media.listen_ip;
  o.announcedIp = media.announced_ip;
  o.udpPort = media.udp_port;
  o.tcpPort = media.tcp_port;
  o.router.staleAfter = std::chrono::milliseconds(media.stale_after_ms);
  o.router.videoFloorBps = uint64_t{media.video_floor_kbps} * 1000;
  o.router.connectTimeout = std::chrono::milliseconds(media.connect_timeout_ms);
  o.router.consentTimeout = std::chrono::milliseconds(media.consent_timeout_ms);
  o.router.dataChannels.enabled = media.datachannels;
  o.router.dataChannels.maxMessageSize = media.datachannel_max_message_size;
  o.router.dataChannels.messagesPerSecond = media.datachannel_messages_per_second;
  o.router.dataChannels.bytesPerSecond = media.datachannel_bytes_per_second;
  return o;
}

}  // namespace

MediaComponent::MediaComponent(App& app, net::http::RouteTable& http,
                               control::ConsultationService* service)
    : endpoint_(app.control(), app.workers(), http, endpointOptions(app.config().media), service) {}

void MediaComponent::drain(std::chrono::milliseconds /*grace*/, std::function<void()> done) {
  endpoint_.drain();
  done();
}

}  // namespace medrelay::server
