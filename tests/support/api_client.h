#pragma once

#include <gtest/gtest.h>

// A small blocking HTTP/1.1 client for the REST API tests: one connection per request
// (Connection: close), JSON bodies, and an SSE reader.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace medrelay::test {

struct ApiResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json() const {
    auto j = nlohmann::json::parse(body, nullptr, false);
    return j.is_discarded() ? nlohmann::json() : j;
  }
  std::string code() const { return json().value("code", std::string()); }
  std::string header(std::string name) const {  // any case
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline int connectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool sendAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Parses "HTTP/1.1 200 OK\r\nName: v\r\n\r\n" into status and headers; returns the head length.
inline size_t parseHead(const std::string& raw, ApiResponse& out) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t line_end = raw.find("\r\n");
  out.status = std::atoi(raw.substr(9, 3).c_str());
  size_t pos = line_end + 2;
  while (pos < end) {
    size_t e = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, e - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      out.headers[name] = line.substr(v);
    }
    pos = e + 2;
  }
  return end + 4;
}

class ApiClient {
 public:
  explicit ApiClient(uint16_t port, std::string bearer = {})
      : port_(port), bearer_(std::move(bearer)) {}
  void setBearer(std::string bearer) { bearer_ = std::move(bearer); }

  ApiResponse request(const std::string& method, const std::string& path,
                      const std::string& body = {},
                      const std::string& content_type = "application/json",
                      const std::vector<std::pair<std::string, std::string>>& extra = {}) const {
    ApiResponse out;
    int fd = connectLoopback(port_);
    if (fd < 0) return out;
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
    if (!bearer_.empty()) req += "Authorization: Bearer " + bearer_ + "\r\n";
    if (!body.empty() || method == "POST" || method == "PATCH") {
      if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    for (const auto& [n, v] : extra) req += n + ": " + v + "\r\n";
    req += "\r\n" + body;
    sendAll(fd, req);
    std::string raw;
    char buf[16384];
    while (true) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    size_t head = parseHead(raw, out);
    if (head != 0) out.body = raw.substr(head);
    return out;
  }
  ApiResponse get(const std::string& path) const { return request("GET", path); }
  ApiResponse del(const std::string& path) const { return request("DELETE", path); }
  ApiResponse post(const std::string& path, const nlohmann::json& body) const {
    return request("POST", path, body.is_null() ? std::string() : body.dump());
  }
  ApiResponse patch(const std::string& path, const nlohmann::json& body) const {
    return request("PATCH", path, body.dump());
  }

 private:
  uint16_t port_;
  std::string bearer_;
};

// Polls GET /readyz every 100 ms until it answers 200 or `timeout` passes; the last status.
inline int waitForReady(uint16_t port,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  int status = 0;
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (status != 200 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = ApiClient(port).get("/readyz").status;
  }
  return status;
}

// The session id at the end of a WHIP/WHEP answer's Location header.
inline std::string sessionOf(const ApiResponse& r) {
  const std::string loc = r.header("location");
  const size_t slash = loc.rfind('/');
  return slash == std::string::npos ? std::string() : loc.substr(slash + 1);
}

// An open GET …/events stream; next() returns the next event's (type, data JSON).
class SseReader {
 public:
  SseReader(uint16_t port, const std::string& path, const std::string& bearer) {
    fd_ = connectLoopback(port);
    if (fd_ < 0) return;
    sendAll(fd_, "GET " + path + " HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n" +
                     "Authorization: Bearer " + bearer + "\r\n\r\n");
    while (head_.status == 0 && fill(std::chrono::milliseconds(5000))) {
      size_t n = parseHead(buffer_, head_);
      if (n != 0) buffer_.erase(0, n);
    }
  }
  ~SseReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  const ApiResponse& head() const { return head_; }
  // True once the server closed the stream (EOF read).
  bool closed() const { return closed_; }

  struct Event {
    std::string type;
    nlohmann::json data;
  };
  // The next event (comments and retry lines skipped); type empty on timeout.
  Event next(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      size_t end = buffer_.find("\n\n");
      if (end != std::string::npos) {
        std::string block = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        Event ev;
        std::string data;
        size_t pos = 0;
        while (pos <= block.size()) {
          size_t e = block.find('\n', pos);
          if (e == std::string::npos) e = block.size();
          std::string line = block.substr(pos, e - pos);
          if (line.rfind("event:", 0) == 0) ev.type = trim(line.substr(6));
          if (line.rfind("data:", 0) == 0) data += trim(line.substr(5));
          pos = e + 1;
        }
        if (!ev.type.empty()) {
          ev.data = nlohmann::json::parse(data, nullptr, false);
          return ev;
        }
        continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(left)) return {};
    }
  }

 private:
  static std::string trim(std::string s) {
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);
    return s;
  }
  bool fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[8192];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buffer_;
  ApiResponse head_;
  bool closed_ = false;
};

// Every access-log record through GET /v1/access-log, following next_after page by page.
inline std::vector<nlohmann::json> exportAccessLog(const ApiClient& backend) {
  std::vector<nlohmann::json> out;
  std::string after = "0";
  while (true) {
    auto r = backend.get("/v1/access-log?limit=1000&after=" + after);
    EXPECT_EQ(r.status, 200) << r.body;
    const nlohmann::json page = r.json();
    if (!page.contains("records")) break;
    for (const auto& rec : page["records"]) out.push_back(rec);
    if (page["next_after"].is_null()) break;
    after = std::to_string(page["next_after"].get<uint64_t>());
  }
  return out;
}

}  // namespace medrelay::test
