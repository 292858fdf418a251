// Fuzzes the request parsing path the server runs (RequestParser over llhttp, then RouteTable and
// the Request accessors), with the input split at arbitrary points. Input layout: byte 0 seeds
// the split points, byte 1 picks small or default limits, the rest is the byte stream.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/http/request_parser.h"
#include "net/http/route_table.h"

using medrelay::net::http::Request;
using medrelay::net::http::RequestLimits;
using medrelay::net::http::RequestParser;
using medrelay::net::http::Responder;
using medrelay::net::http::Response;
using medrelay::net::http::RouteTable;

namespace {

const RouteTable& router() {
  static const RouteTable r = [] {
    RouteTable x;
    auto h = [](Request& req, Responder res) {
      (void)req.query("limit");
      (void)req.query("");
      (void)req.header("content-type");
      (void)req.param("id");
      res.send(Response::json(200, {{"path", req.path}, {"body", req.body}}));
    };
    x.add("GET", "/v1/rooms", h);
    x.add("GET", "/v1/rooms/{id}", h);
    x.add("POST", "/v1/rooms/{id}/invites", h);
    x.add("DELETE", "/v1/rooms/{id}/invites/{invite}", h);
    return x;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint32_t seed = data[0] * 2654435761u + 1;
  RequestLimits limits;
  if (data[1] & 1) {
    limits.maxHeaderBytes = 64 + data[1];
    limits.maxBodyBytes = data[1] / 2;
    limits.maxHeaderCount = 4;
  }
  size_t delivered = 0;
  RequestParser parser(limits, {[&](Request&& r) {
                                  ++delivered;
                                  router().handle(r, Responder::toCallback([](Response) {}));
                                },
                                [] {}});
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  while (!rest.empty()) {
    seed = seed * 1103515245u + 12345u;
    size_t n = 1 + (seed >> 16) % 64;
    if (n > rest.size()) n = rest.size();
    bool more = parser.feed(rest.substr(0, n));
    rest.remove_prefix(n);
    if (!more) {
      // Once stopped, the parser must ignore everything and report the same state.
      auto failure = parser.failure();
      if (parser.feed(rest)) __builtin_trap();
      if (failure.has_value() != parser.failure().has_value()) __builtin_trap();
      break;
    }
  }
  if (parser.failure()) {
    int s = parser.failure()->status;
    if (s != 400 && s != 413 && s != 431 && s != 505) __builtin_trap();
  }
  (void)delivered;
  return 0;
}
