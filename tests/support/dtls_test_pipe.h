#pragma once

// Two DtlsTransports joined by an in-memory datagram pipe on one Dispatcher, with hooks to drop,
// split or inject datagrams, plus a few DTLS record helpers (RFC 6347 §4.1, §4.2.2).

#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "media/dtls_transport.h"
#include "net/dispatcher.h"

namespace medrelay::test {

using Bytes = std::vector<uint8_t>;

// Runs the loop until done() or the timeout; false on timeout.
inline bool runUntil(net::Dispatcher& dispatcher, const std::function<bool()>& done,
                     std::chrono::milliseconds timeout) {
  net::Timer tick(dispatcher, [] {});
  tick.start(std::chrono::milliseconds(5), std::chrono::milliseconds(5));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    uv_run(dispatcher.loop(), UV_RUN_ONCE);
  }
  return true;
}

// Records what one transport reported.
struct DtlsEndpoint : media::DtlsTransport::Callbacks {
  std::vector<Bytes> sent;
  int connectedCount = 0;
  std::optional<media::SrtpProfile> profile;
  std::optional<media::SrtpKeys> keys;
  std::optional<media::DtlsFailure> failure;
  int closedCount = 0;
  std::vector<Bytes> received;
  std::function<void(const uint8_t*, size_t)> output;

  void onDtlsSend(const uint8_t* data, size_t len) override {
    sent.emplace_back(data, data + len);
    if (output) output(data, len);
  }
  void onDtlsConnected(media::SrtpProfile p, const media::SrtpKeys& k) override {
    ++connectedCount;
    profile = p;
    keys = k;
  }
  void onDtlsFailed(media::DtlsFailure reason) override { failure = reason; }
  void onDtlsClosed() override { ++closedCount; }
  void onDtlsApplicationData(const uint8_t* data, size_t len) override {
    received.emplace_back(data, data + len);
  }
};

// A DTLS record inside a datagram.
struct DtlsRecord {
  uint8_t type = 0;
  uint16_t epoch = 0;
  uint64_t sequence = 0;
  Bytes body;
};

inline std::vector<DtlsRecord> parseRecords(const Bytes& datagram) {
  std::vector<DtlsRecord> out;
  size_t at = 0;
  while (at + 13 <= datagram.size()) {
    DtlsRecord r;
    r.type = datagram[at];
    r.epoch = static_cast<uint16_t>(datagram[at + 3] << 8 | datagram[at + 4]);
    for (int i = 0; i < 6; ++i) r.sequence = r.sequence << 8 | datagram[at + 5 + i];
    const size_t len = static_cast<size_t>(datagram[at + 11] << 8 | datagram[at + 12]);
    if (at + 13 + len > datagram.size()) break;
    r.body.assign(datagram.begin() + static_cast<long>(at) + 13,
                  datagram.begin() + static_cast<long>(at + 13 + len));
    out.push_back(std::move(r));
    at += 13 + len;
  }
  return out;
}

inline void appendRecord(Bytes& datagram, const DtlsRecord& r) {
  datagram.push_back(r.type);
  datagram.push_back(0xfe);  // DTLS 1.2 on the wire (RFC 6347 §4.1)
  datagram.push_back(0xfd);
  datagram.push_back(static_cast<uint8_t>(r.epoch >> 8));
  datagram.push_back(static_cast<uint8_t>(r.epoch));
  for (int i = 5; i >= 0; --i) datagram.push_back(static_cast<uint8_t>(r.sequence >> (8 * i)));
  datagram.push_back(static_cast<uint8_t>(r.body.size() >> 8));
  datagram.push_back(static_cast<uint8_t>(r.body.size()));
  datagram.insert(datagram.end(), r.body.begin(), r.body.end());
}

inline uint32_t get24(const Bytes& b, size_t at) {
  return static_cast<uint32_t>(b[at] << 16 | b[at + 1] << 8 | b[at + 2]);
}
inline void put24(Bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 16);
  b[at + 1] = static_cast<uint8_t>(v >> 8);
  b[at + 2] = static_cast<uint8_t>(v);
}

// Handshake message type of an unencrypted handshake record (22, epoch 0), else -1.
inline int handshakeType(const DtlsRecord& r) {
  if (r.type != 22 || r.epoch != 0 || r.body.size() < 12) return -1;
  return r.body[0];
}

inline bool isClientHello(const Bytes& datagram) {
  for (const auto& r : parseRecords(datagram)) {
    if (handshakeType(r) == 1) return true;
  }
  return false;
}

// Re-sends a sender's epoch-0 records the way Chromium's large ClientHello arrives: each whole
// ClientHello becomes `parts` handshake fragments (RFC 6347 §4.2.3), one record and one datagram
// each. Epoch-0 sequence numbers are renumbered so the record layer's replay window stays
// consistent; they are not authenticated in epoch 0, and epoch 1+ records pass untouched.
class ClientHelloSplitter {
 public:
  explicit ClientHelloSplitter(size_t parts, bool reverse = false)
      : parts_(parts), reverse_(reverse) {}

  std::vector<Bytes> operator()(const Bytes& datagram) {
    std::vector<Bytes> out;
    Bytes current;
    for (auto r : parseRecords(datagram)) {
      if (r.epoch != 0) {
        appendRecord(current, r);
        continue;
      }
      const bool wholeHello = handshakeType(r) == 1 && get24(r.body, 6) == 0 &&
                              get24(r.body, 9) == get24(r.body, 1) && r.body.size() > 12 + parts_;
      if (!wholeHello) {
        r.sequence = next_++;
        appendRecord(current, r);
        continue;
      }
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
      const uint32_t total = get24(r.body, 1);
      const uint32_t step =
          (total + static_cast<uint32_t>(parts_) - 1) / static_cast<uint32_t>(parts_);
      std::vector<Bytes> pieces;
      for (uint32_t off = 0; off < total; off += step) {
        const uint32_t n = std::min(step, total - off);
        DtlsRecord f = r;
        f.sequence = next_++;
        f.body.assign(r.body.begin(), r.body.begin() + 12);
        put24(f.body, 6, off);
        put24(f.body, 9, n);
        f.body.insert(f.body.end(), r.body.begin() + 12 + off, r.body.begin() + 12 + off + n);
        Bytes d;
        appendRecord(d, f);
        pieces.push_back(std::move(d));
      }
      if (reverse_) std::reverse(pieces.begin(), pieces.end());
      helloDatagrams_ += pieces.size();
      for (auto& p : pieces) out.push_back(std::move(p));
    }
    if (!current.empty()) out.push_back(std::move(current));
    return out;
  }

  size_t helloDatagrams() const { return helloDatagrams_; }

 private:
  size_t parts_;
  bool reverse_;
  uint64_t next_ = 0;
  size_t helloDatagrams_ = 0;
};

// Client and server transports joined through the loop: every datagram is delivered on a later
// loop turn (like UDP), after passing the per-direction filter, which may drop (return nothing),
// split or rewrite it.
class DtlsPipe {
  net::Dispatcher& dispatcher_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  using Filter = std::function<std::vector<Bytes>(const Bytes&)>;

  DtlsPipe(net::Dispatcher& dispatcher, media::DtlsContext& clientContext,
           media::DtlsContext& serverContext)
      : dispatcher_(dispatcher),
        client(dispatcher, clientContext, clientEndpoint),
        server(dispatcher, serverContext, serverEndpoint) {
    clientEndpoint.output = [this](const uint8_t* d, size_t n) {
      forward(Bytes(d, d + n), toServer, &server);
    };
    serverEndpoint.output = [this](const uint8_t* d, size_t n) {
      forward(Bytes(d, d + n), toClient, &client);
    };
    client.setRemoteFingerprint(serverContext.certificate().fingerprint());
    server.setRemoteFingerprint(clientContext.certificate().fingerprint());
  }
  ~DtlsPipe() { *alive_ = false; }

  bool connect(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (!server.start(media::DtlsRole::kServer) || !client.start(media::DtlsRole::kClient)) {
      return false;
    }
    return runUntil(
               dispatcher_, [this] { return bothConnected() || anyFinished(); }, timeout) &&
           bothConnected();
  }
  bool bothConnected() const {
    return client.state() == media::DtlsTransport::State::kConnected &&
           server.state() == media::DtlsTransport::State::kConnected;
  }
  bool anyFinished() const {
    auto finished = [](const media::DtlsTransport& t) {
      return t.state() == media::DtlsTransport::State::kFailed ||
             t.state() == media::DtlsTransport::State::kClosed;
    };
    return finished(client) && finished(server);
  }

  DtlsEndpoint clientEndpoint;
  DtlsEndpoint serverEndpoint;
  media::DtlsTransport client;
  media::DtlsTransport server;
  Filter toServer;  // applied to client → server datagrams
  Filter toClient;
  size_t deliveredToServer = 0;
  size_t deliveredToClient = 0;

 private:
  void forward(Bytes datagram, const Filter& filter, media::DtlsTransport* to) {
    std::vector<Bytes> out;
    if (filter) {
      out = filter(datagram);
    } else {
      out.push_back(std::move(datagram));
    }
    for (auto& d : out) {
      dispatcher_.post([alive = alive_, this, to, d = std::move(d)] {
        if (!*alive) return;
        ++(to == &server ? deliveredToServer : deliveredToClient);
        to->receive(d.data(), d.size());
      });
    }
  }
};

}  // namespace medrelay::test
