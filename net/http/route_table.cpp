#include "net/http/route_table.h"

#include <algorithm>

namespace medrelay::net::http {

namespace {

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool isParam(std::string_view seg) {
  return seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ", ";
    out += i;
  }
  return out;
}

}  // namespace

RouteTable::RouteTable(CorsOptions cors) : cors_(std::move(cors)) {}

void RouteTable::add(std::string method, std::string_view pattern, Handler handler,
                     std::string routeName) {
  Route r;
  r.method = std::move(method);
  for (auto seg : splitPath(pattern)) {
    r.segments.emplace_back(seg);
    if (!isParam(seg)) ++r.literals;
  }
  r.handler = std::move(handler);
  r.name = routeName.empty() ? std::string(pattern) : std::move(routeName);
  routes_.push_back(std::move(r));
}

std::vector<std::pair<std::string, std::string>> RouteTable::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) {
    std::string pattern;
    for (const auto& seg : r.segments) pattern += "/" + seg;
    out.emplace_back(r.method, pattern);
  }
  return out;
}

bool RouteTable::originAllowed(std::string_view origin) const {
  for (const auto& o : cors_.allowedOrigins) {
    if (o == "*" || o == origin) return true;
  }
  return false;
}

void RouteTable::addCors(const Request& request, Responder& responder) const {
  if (!cors_.enabled) return;
  auto origin = request.header("origin");
  if (!origin || !originAllowed(*origin)) return;
  bool any = std::find(cors_.allowedOrigins.begin(), cors_.allowedOrigins.end(), "*") !=
             cors_.allowedOrigins.end();
  responder.setDefaultHeader("Access-Control-Allow-Origin", any ? "*" : std::string(*origin));
  if (!any) responder.setDefaultHeader("Vary", "Origin");
  if (!cors_.exposedHeaders.empty()) {
    responder.setDefaultHeader("Access-Control-Expose-Headers", join(cors_.exposedHeaders));
  }
}

void RouteTable::handle(Request& request, Responder responder) const {
  addCors(request, responder);
  if (request.path.empty() || request.path.front() != '/') {
    request.routeName = "unmatched";
    responder.send(Response::error(400, "bad_request", "request target must be a path"));
    return;
  }
  auto raw = splitPath(request.path);
  std::vector<std::string> decoded;
  decoded.reserve(raw.size());
  for (auto seg : raw) {
    auto d = percentDecode(seg);
    if (!d) {
      request.routeName = "unmatched";
      responder.send(Response::error(400, "bad_request", "malformed percent-encoding in path"));
      return;
    }
    decoded.push_back(std::move(*d));
  }

  const Route* best = nullptr;
  const Route* getFallback = nullptr;
  const Route* anyMatch = nullptr;
  std::vector<std::string> allowed;
  for (const auto& r : routes_) {
    if (r.segments.size() != decoded.size()) continue;
    bool match = true;
    for (size_t i = 0; i < decoded.size() && match; ++i) {
      match = isParam(r.segments[i]) || r.segments[i] == decoded[i];
    }
    if (!match) continue;
    if (anyMatch == nullptr || r.literals > anyMatch->literals) anyMatch = &r;
    if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) {
      allowed.push_back(r.method);
    }
    if (r.method == request.method && (best == nullptr || r.literals > best->literals)) best = &r;
    if (r.method == "GET" && (getFallback == nullptr || r.literals > getFallback->literals)) {
      getFallback = &r;
    }
  }
  if (best == nullptr && request.method == "HEAD") best = getFallback;
  if (best != nullptr) {
    for (size_t i = 0; i < decoded.size(); ++i) {
      const auto& seg = best->segments[i];
      if (isParam(seg)) request.params[seg.substr(1, seg.size() - 2)] = decoded[i];
    }
    request.routeName = best->name;
    best->handler(request, std::move(responder));
    return;
  }
  if (anyMatch == nullptr) {
    request.routeName = "unmatched";
    responder.send(Response::error(404, "not_found", "no such resource"));
    return;
  }
  request.routeName = anyMatch->name;
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end() &&
      std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end()) {
    allowed.emplace_back("HEAD");
  }
  allowed.emplace_back("OPTIONS");
  std::string allow = join(allowed);
  if (request.method == "OPTIONS") {
    Response r = Response::empty(204);
    r.headers.set("Allow", allow);
    auto origin = request.header("origin");
    // CORS preflight (Fetch standard, "CORS protocol").
    if (cors_.enabled && origin && originAllowed(*origin) &&
        request.header("access-control-request-method")) {
      r.headers.set("Access-Control-Allow-Methods", allow);
      r.headers.set("Access-Control-Allow-Headers", join(cors_.allowedHeaders));
      r.headers.set("Access-Control-Max-Age", std::to_string(cors_.maxAgeSeconds));
    }
    responder.send(std::move(r));
    return;
  }
  Response r = Response::error(405, "method_not_allowed",
                               request.method + " is not allowed on this resource");
  r.headers.set("Allow", allow);
  responder.send(std::move(r));
}

}  // namespace medrelay::net::http
