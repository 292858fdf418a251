#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/http_server.h"

namespace medrelay::net::http {

struct CorsOptions {
  bool enabled = true;
  // "*" allows any origin; otherwise exact origins such as "https://clinic.example".
  std::vector<std::string> allowedOrigins{"*"};
  std::vector<std::string> allowedHeaders{"Authorization", "Content-Type", "If-Match",
                                          "If-None-Match"};
  std::vector<std::string> exposedHeaders{"Location", "ETag", "Link", "Retry-After"};
  int maxAgeSeconds = 600;
};

// Method + path-template routing: add("GET", "/v1/rooms/{id}/invites/{invite}", h). A "{name}"
// segment captures one percent-decoded path segment into Request::params. Unknown path -> 404
// "not_found"; known path, other method -> 405 "method_not_allowed" with Allow. HEAD falls back
// to GET. OPTIONS is answered automatically (204 + Allow, plus the CORS preflight when the
// request has Origin and Access-Control-Request-Method). Request::routeName is the template
// ("unmatched" for 404s) so metrics can label by route. Register routes before serving.
class RouteTable {
 public:
  explicit RouteTable(CorsOptions cors = {});

  // routeName defaults to the template.
  void add(std::string method, std::string_view pattern, Handler handler,
           std::string routeName = {});
  void handle(Request& request, Responder responder) const;
  // For HttpServer's constructor; the RouteTable must outlive the server.
  Handler handler() const {
    return [this](Request& r, Responder res) { handle(r, std::move(res)); };
  }
  // Every registered (method, path template), in registration order (route/spec checks).
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // literal text, or "{name}" for a parameter
    Handler handler;
    std::string name;
    int literals = 0;
  };

  bool originAllowed(std::string_view origin) const;
  void addCors(const Request& request, Responder& responder) const;

  CorsOptions cors_;
  std::vector<Route> routes_;
};

}  // namespace medrelay::net::http
