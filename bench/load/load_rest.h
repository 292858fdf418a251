#pragma once

// medrelay-load's side of the REST API and small helpers around it: POSTs that report a non-2xx
// answer, a participant's TURN server from /ice-servers, a free UDP port for the TURN listener.

#include <cstdint>
#include <optional>
#include <string>

#include "bench/load/turn_client.h"
#include "tests/support/api_client.h"

namespace medrelay::bench {

// Random [A-Za-z0-9] string (ICE credentials of the generated offers).
std::string randomToken(size_t n);
// Now as RFC 3339 UTC (consent records).
std::string nowIso();
// A POST with the given bearer; prints and returns nothing on a non-2xx answer.
std::optional<test::ApiResponse> post(uint16_t port, const std::string& bearer,
                                      const std::string& path, const std::string& body,
                                      const std::string& type);
// The port of "http://127.0.0.1:PORT".
uint16_t portFromUrl(const std::string& url);
// An ephemeral UDP port on 127.0.0.1 that was free a moment ago (for medrelay's TURN listener).
uint16_t freeUdpPort();
// The participant's TURN server (the first turn:...?transport=udp URL) and credential from
// GET /v1/rooms/{id}/ice-servers with its token.
std::optional<TurnClient::Server> turnServerFor(uint16_t port, const std::string& token,
                                                const std::string& roomId);

}  // namespace medrelay::bench
