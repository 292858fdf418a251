// Feeds arbitrary datagrams to DtlsTransports. Input: one mode byte, then datagrams, each a
// 2-byte big-endian length and its bytes (a short tail is the last datagram).
//   mode % 3 == 0: a fresh server transport, as if the datagrams came before any handshake;
//   mode % 3 == 1: a client/server pair completes a real handshake first, then the datagrams go
//                  to the connected server (record layer, alerts, epoch-1 records);
//   mode % 3 == 2: a fresh client that has sent its ClientHello gets the datagrams as replies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "common/logging.h"
#include "media/dtls_transport.h"
#include "net/dispatcher.h"
#include "tests/support/dtls_test_pipe.h"

namespace {

using namespace medrelay;
using namespace std::chrono_literals;

struct Env {
  net::Dispatcher dispatcher{"dtls-fuzz"};
  std::unique_ptr<media::DtlsContext> clientContext;
  std::unique_ptr<media::DtlsContext> serverContext;

  Env() {
    log::configure("off", log::Format::kText);
    auto clientCert = media::DtlsCertificate::generate();
    auto serverCert = media::DtlsCertificate::generate();
    if (!clientCert.ok() || !serverCert.ok()) std::abort();
    media::DtlsContext::Options options;
    options.initialRetransmit = 10ms;
    options.maxRetransmit = 20ms;
    auto c = media::DtlsContext::create(clientCert.value(), options);
    auto s = media::DtlsContext::create(serverCert.value(), options);
    if (!c.ok() || !s.ok()) std::abort();
    clientContext = std::move(c.value());
    serverContext = std::move(s.value());
  }
};

std::vector<test::Bytes> splitDatagrams(const uint8_t* data, size_t size) {
  std::vector<test::Bytes> out;
  while (size > 0) {
    if (size < 2) {
      out.emplace_back(data, data + size);
      break;
    }
    size_t len = static_cast<size_t>(data[0] << 8 | data[1]);
    data += 2;
    size -= 2;
    if (len > size) len = size;
    out.emplace_back(data, data + len);
    data += len;
    size -= len;
  }
  return out;
}

void feed(media::DtlsTransport& t, const std::vector<test::Bytes>& datagrams) {
  for (const auto& d : datagrams) t.receive(d.data(), d.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Env env;
  if (size < 1) return 0;
  const int mode = data[0] % 3;
  const auto datagrams = splitDatagrams(data + 1, size - 1);

  if (mode == 1) {
    test::DtlsPipe pipe(env.dispatcher, *env.clientContext, *env.serverContext);
    if (!pipe.connect(5s)) std::abort();  // a clean handshake must always work
    feed(pipe.server, datagrams);
    // Whatever the server answered reaches the client, and the client still works or ended.
    test::runUntil(
        env.dispatcher, [] { return false; }, 1ms);
    if (pipe.server.state() == media::DtlsTransport::State::kConnected) {
      const uint8_t ping[] = {1, 2, 3};
      if (!pipe.server.send(ping, sizeof(ping))) std::abort();
    }
    return 0;
  }

  test::DtlsEndpoint endpoint;
  media::DtlsTransport t(env.dispatcher, mode == 0 ? *env.serverContext : *env.clientContext,
                         endpoint);
  t.setRemoteFingerprint(mode == 0 ? env.clientContext->certificate().fingerprint()
                                   : env.serverContext->certificate().fingerprint());
  if (!t.start(mode == 0 ? media::DtlsRole::kServer : media::DtlsRole::kClient).ok()) {
    std::abort();
  }
  feed(t, datagrams);
  // A forged peer cannot produce keys: it does not hold the pinned certificate's key.
  if (endpoint.keys) std::abort();
  return 0;
}
