#pragma once

// Blocking loopback HTTP client for integration tests: raw bytes in, parsed responses out.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <string>

namespace medrelay::net::http::test {

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool has(const std::string& name) const { return headers.count(name) != 0; }
  std::string get(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class TestClient {
 public:
  explicit TestClient(uint16_t port, bool ipv6 = false) {
    fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int rc;
    if (ipv6) {
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_port = htons(port);
      inet_pton(AF_INET6, "::1", &a.sin6_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    }
    connected_ = rc == 0;
  }
  ~TestClient() { close(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool fill(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  // Reads until the buffer contains needle; returns everything up to and including it.
  std::optional<std::string> readUntil(const std::string& needle,
                                       std::chrono::milliseconds timeout = kDefault) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      size_t pos = buffer_.find(needle);
      if (pos != std::string::npos) {
        std::string out = buffer_.substr(0, pos + needle.size());
        buffer_.erase(0, pos + needle.size());
        return out;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(left)) return std::nullopt;
    }
  }

  std::optional<RawResponse> readResponse(bool head = false,
                                          std::chrono::milliseconds timeout = kDefault) {
    auto headText = readUntil("\r\n\r\n", timeout);
    if (!headText) return std::nullopt;
    RawResponse r;
    std::string_view h = *headText;
    size_t eol = h.find("\r\n");
    std::string_view statusLine = h.substr(0, eol);
    if (statusLine.size() < 12) return std::nullopt;
    r.status = std::stoi(std::string(statusLine.substr(9, 3)));
    h.remove_prefix(eol + 2);
    while (!h.empty()) {
      eol = h.find("\r\n");
      std::string_view line = h.substr(0, eol);
      h.remove_prefix(eol + 2);
      if (line.empty()) break;
      size_t colon = line.find(':');
      std::string name(line.substr(0, colon));
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      r.headers[name] = std::string(v);
    }
    if (r.status == 100) return r;
    size_t len = r.has("content-length") ? std::stoul(r.get("content-length")) : 0;
    if (head || r.status == 204 || r.status == 304) len = 0;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.size() < len) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !fill(left)) return std::nullopt;
    }
    r.body = buffer_.substr(0, len);
    buffer_.erase(0, len);
    return r;
  }

  // True if the server closes the connection (EOF or reset) within timeout.
  bool waitClosed(std::chrono::milliseconds timeout = kDefault) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0)
        eof_ = true;
      else
        buffer_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  std::string& buffer() { return buffer_; }

  static constexpr std::chrono::milliseconds kDefault{3000};

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
};

inline std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: test\r\n" + extra + "\r\n";
}

}  // namespace medrelay::net::http::test
