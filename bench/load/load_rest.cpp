#include "bench/load/load_rest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <regex>

namespace medrelay::bench {

using test::ApiClient;
using test::ApiResponse;

std::string randomToken(size_t n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static std::mt19937 rng{std::random_device{}()};
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kChars[rng() % (sizeof kChars - 1)];
  return s;
}

std::string nowIso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::optional<ApiResponse> post(uint16_t port, const std::string& bearer, const std::string& path,
                                const std::string& body, const std::string& type) {
  ApiClient c(port, bearer);
  ApiResponse r = c.request("POST", path, body, type);
  if (r.status < 200 || r.status > 299) {
    std::fprintf(stderr, "medrelay-load: POST %s -> %d %s\n", path.c_str(), r.status,
                 r.body.substr(0, 300).c_str());
    return std::nullopt;
  }
  return r;
}

uint16_t portFromUrl(const std::string& url) {
  auto colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<uint16_t>(std::atoi(url.c_str() + colon + 1));
}

uint16_t freeUdpPort() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

std::optional<TurnClient::Server> turnServerFor(uint16_t port, const std::string& token,
                                                const std::string& roomId) {
  ApiClient c(port, token);
  ApiResponse r = c.get("/v1/rooms/" + roomId + "/ice-servers");
  if (r.status != 200) {
    std::fprintf(stderr, "medrelay-load: ice-servers -> %d %s\n", r.status, r.body.c_str());
    return std::nullopt;
  }
  static const std::regex kUdp("turn:([0-9.]+):([0-9]+)\\?transport=udp");
  for (const auto& s : r.json().value("ice_servers", nlohmann::json::array())) {
    for (const auto& u : s.value("urls", nlohmann::json::array())) {
      std::smatch m;
      const std::string url = u.get<std::string>();
      if (!std::regex_search(url, m, kUdp)) continue;
      auto addr =
          net::SocketAddress::fromIp(m[1].str(), static_cast<uint16_t>(std::stoi(m[2].str())));
      if (!addr) continue;
      return TurnClient::Server{*addr, s.value("username", ""), s.value("credential", "")};
    }
  }
  std::fprintf(stderr, "medrelay-load: no turn:...?transport=udp in %s\n", r.body.c_str());
  return std::nullopt;
}

}  // namespace medrelay::bench
