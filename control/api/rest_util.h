#pragma once

// Helpers shared by the REST handlers (control/api/rest_*.cpp); not a public interface.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "control/api/rest_api.h"
#include "control/consultation_requests.h"
#include "control/policy.h"
#include "net/http/http_message.h"

namespace medrelay::control::api {

using net::http::Request;
using net::http::Responder;
using net::http::Response;

namespace rest {

// Codes the REST layer adds to the service's (policyStatus).
inline int statusOf(std::string_view code) {
  if (code == "unsupported_media_type") return 415;
  if (code == "invalid_api_key") return 401;
  if (code == "not_ready") return 503;
  if (code == "delivery_not_found") return 404;
  return policyStatus(code);
}

inline Response errorResponse(const Error& error) {
  const int status = statusOf(error.code);
  Response r = Response::json(status, errorBody(error));
  if (status == 401) r.headers.set("WWW-Authenticate", "Bearer");
  if (status == 429) r.headers.set("Retry-After", "5");
  if (status == 503) r.headers.set("Retry-After", "1");
  r.headers.set("Cache-Control", "no-store");
  return r;
}

inline Response jsonResponse(int status, const nlohmann::json& body) {
  Response r = Response::json(status, body);
  r.headers.set("Cache-Control", "no-store");
  return r;
}

inline std::string_view trim(std::string_view s) {
  return trimBlanks(s);
}

// RFC 6750 §2.1: "Bearer" (case-insensitive) SP token.
inline std::optional<std::string> bearer(const Request& req) {
  auto h = req.header("authorization");
  if (!h) return std::nullopt;
  std::string_view v = trim(*h);
  constexpr std::string_view kScheme = "bearer ";
  if (v.size() <= kScheme.size() || !net::http::equalsIgnoreCase(v.substr(0, 7), kScheme)) {
    return std::nullopt;
  }
  v = trim(v.substr(kScheme.size()));
  if (v.empty()) return std::nullopt;
  return std::string(v);
}

inline bool isInviteToken(std::string_view token) {
  return token.substr(0, kInviteTokenPrefix.size()) == kInviteTokenPrefix;
}

// A JSON request body: Content-Type application/json (RFC 8259 §11), an object.
inline Result<nlohmann::json> jsonBody(const Request& req, bool optional) {
  if (optional && req.body.empty()) return nlohmann::json::object();
  auto ct = req.header("content-type");
  std::string_view type = ct ? trim(ct->substr(0, ct->find(';'))) : std::string_view{};
  if (!net::http::equalsIgnoreCase(type, "application/json")) {
    return makeError("unsupported_media_type", "the request body must be application/json");
  }
  auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return makeError("invalid_json", "the body is not valid JSON");
  if (!j.is_object()) return makeError("invalid_json", "the body must be a JSON object");
  return j;
}

inline std::string safeRoom(std::string_view room) {
  return validateId("room", room).ok() ? std::string(room) : std::string();
}

template <typename T>
using Done = ConsultationService::Done<T>;

// Answers a service callback: `ok` builds the success response.
template <typename T>
Done<T> answer(Responder res, std::function<Response(const T&)> ok) {
  return [res, ok = std::move(ok)](Result<T> r) mutable {
    if (!r.ok()) {
      res.send(errorResponse(r.error()));
      return;
    }
    res.send(ok(r.value()));
  };
}

}  // namespace rest

// One request being handled; handlers that answer later copy the Responder.
class RestApi::Call {
 public:
  Call(Request& request, Responder responder) : req(request), res(std::move(responder)) {}
  std::string room() const { return std::string(req.param("id")); }
  Caller caller() const {
    return backend ? Caller::ofBackend() : Caller::ofParticipant(token, req.remoteAddress);
  }

  Request& req;
  Responder res;
  bool backend = false;
  std::string token;  // a participant's invite token
  std::string op;     // for access-log detail.op
};

}  // namespace medrelay::control::api
