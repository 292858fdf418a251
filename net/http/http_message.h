#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace medrelay::net::http {

// Header fields in arrival order; names compare case-insensitively (RFC 9110 5.1).
class Headers {
 public:
  // First value of the field, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  // Appends a field (duplicates allowed, e.g. Set-Cookie, Link).
  void add(std::string name, std::string value);
  // Replaces every field of that name with one value.
  void set(std::string name, std::string value);
  void remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& all() const { return fields_; }
  size_t size() const { return fields_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return iequals(a, b);
}
// True if a comma-separated field value contains token (case-insensitive), e.g. "close".
bool containsToken(std::string_view fieldValue, std::string_view token);
// Decodes %XX escapes; '+' becomes a space only when plusIsSpace (query strings). nullopt on a
// malformed escape.
std::optional<std::string> percentDecode(std::string_view in, bool plusIsSpace = false);
// Standard reason phrase for a status code ("Unknown" for codes we do not know).
std::string_view reasonPhrase(int status);

// One parsed request. Owned by the connection until its response is sent; handlers that answer
// later must copy what they need instead of keeping the reference.
struct Request {
  std::string method;    // "GET", "POST", ... as sent
  std::string target;    // request-target as sent, e.g. "/v1/rooms?limit=5"
  std::string path;      // path part of the target, still percent-encoded; routing decodes segments
  std::string rawQuery;  // after '?', without it; empty if none
  Headers headers;
  std::string body;
  std::map<std::string, std::string>
      params;             // path parameters filled in by the RouteTable (decoded)
  std::string routeName;  // route template that matched (set by the RouteTable), for metrics labels
  std::string remoteAddress;  // "203.0.113.5:51234" or "[2001:db8::1]:51234"
  bool tls = false;
  bool keepAlive =
      true;  // false after "Connection: close" or an HTTP/1.0 request without keep-alive
  int httpMinor = 1;

  // First value of a query parameter, decoded ("a+b" -> "a b"); nullopt if absent or malformed.
  std::optional<std::string> query(std::string_view name) const;
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // Path parameter by name; empty if absent.
  std::string_view param(std::string_view name) const;
};

// A complete response. The server adds Content-Length, Date and Connection itself.
struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response json(int status, const nlohmann::json& body);
  // The API's error body: {"code": "...", "message": "..."} as application/json.
  static Response error(int status, std::string_view code, std::string_view message);
  static Response text(int status, std::string body,
                       std::string_view contentType = "text/plain; charset=utf-8");
  // No body (e.g. 204, or 201 with only a Location).
  static Response empty(int status);
};

}  // namespace medrelay::net::http
