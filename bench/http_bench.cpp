// HTTP/1.1 request parse micro-benchmarks over the server's own RequestParser (llhttp): a REST
// call with a JSON body, a WHIP offer (SDP body of a few KiB), and a pipelined burst of GETs.
// Figures only mean something in Release.
#include <benchmark/benchmark.h>

#include <string>

#include "net/http/request_parser.h"

namespace {

using namespace medrelay::net::http;

std::string restRequest() {
  const std::string body =
      R"({"mode":"d2p","scheduled_start":"now","institution_id":"clinic-1",)"
      R"("institution_contact":"03-0000-0000","doctor_display_name":"Dr. Example"})";
  return "POST /v1/rooms HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
         "Authorization: Bearer 0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
         "Content-Type: application/json\r\nAccept: */*\r\nUser-Agent: curl/7.88.1\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string whipOffer() {
  std::string sdp = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  for (int m = 0; m < 2; ++m) {
    sdp += m == 0 ? "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" : "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n";
    sdp += "c=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijklmn\r\n";
    sdp += "a=fingerprint:sha-256 ";
    for (int i = 0; i < 32; ++i) sdp += i ? ":AB" : "AB";
    sdp += "\r\na=setup:actpass\r\na=mid:" + std::to_string(m) + "\r\na=sendonly\r\na=rtcp-mux\r\n";
    for (int i = 0; i < 12; ++i)
      sdp += "a=extmap:" + std::to_string(i + 1) + " urn:x-ext:" + std::to_string(i) + "\r\n";
    sdp += "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n";
  }
  return "POST /v1/whip/rooms/r_0123456789 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
         "Authorization: Bearer inv_0123456789abcdef0123456789abcdef\r\n"
         "Content-Type: application/sdp\r\nContent-Length: " +
         std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
}

void parseLoop(benchmark::State& state, const std::string& wire, int perFeed) {
  size_t requests = 0;
  for (auto _ : state) {
    RequestParser parser({}, {[&](Request&& r) {
                                benchmark::DoNotOptimize(r.body.data());
                                ++requests;
                              },
                              {}});
    benchmark::DoNotOptimize(parser.feed(wire));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * perFeed);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
  benchmark::DoNotOptimize(requests);
}

void BM_HttpParseRestPost(benchmark::State& state) {
  parseLoop(state, restRequest(), 1);
}
BENCHMARK(BM_HttpParseRestPost);

void BM_HttpParseWhipOffer(benchmark::State& state) {
  const auto wire = whipOffer();
  state.SetLabel(std::to_string(wire.size()) + " B");
  parseLoop(state, wire, 1);
}
BENCHMARK(BM_HttpParseWhipOffer);

void BM_HttpParsePipelinedGets(benchmark::State& state) {
  std::string wire;
  for (int i = 0; i < 16; ++i) {
    wire += "GET /v1/rooms/r_" + std::to_string(i) +
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\n\r\n";
  }
  parseLoop(state, wire, 16);
}
BENCHMARK(BM_HttpParsePipelinedGets);

// The same REST request split into 64-byte segments, as a slow client's TCP reads would arrive.
void BM_HttpParseSegmented(benchmark::State& state) {
  const auto wire = restRequest();
  for (auto _ : state) {
    RequestParser parser({}, {[](Request&& r) { benchmark::DoNotOptimize(r.body.data()); }, {}});
    for (size_t off = 0; off < wire.size(); off += 64) {
      benchmark::DoNotOptimize(parser.feed(std::string_view(wire).substr(off, 64)));
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_HttpParseSegmented);

}  // namespace
