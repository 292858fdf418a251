#include "control/api/rest_api.h"

#include <utility>

#include "control/access_log_record.h"
#include "control/api/rest_util.h"
#include "control/policy.h"

namespace medrelay::control::api {

using namespace rest;  // NOLINT

RestApi::RestApi(net::http::RouteTable& router, Clock& clock, RestApiOptions options)
    : clock_(clock), options_(std::move(options)), apiKeyLimiter_(options_.api_key_rate_limit) {
  add(router, "POST", "/v1/rooms", &RestApi::createRoom);
  add(router, "GET", "/v1/rooms", &RestApi::listRooms);
  add(router, "GET", "/v1/rooms/{id}", &RestApi::getRoom);
  add(router, "PATCH", "/v1/rooms/{id}", &RestApi::patchRoom);
  add(router, "DELETE", "/v1/rooms/{id}", &RestApi::cancelRoom);
  add(router, "POST", "/v1/rooms/{id}/invites", &RestApi::createInvite);
  add(router, "GET", "/v1/rooms/{id}/invites", &RestApi::listInvites);
  add(router, "DELETE", "/v1/rooms/{id}/invites/{invite}", &RestApi::revokeInvite);
  add(router, "POST", "/v1/rooms/{id}/admit", &RestApi::admit);
  add(router, "POST", "/v1/rooms/{id}/end", &RestApi::endConsultation);
  add(router, "GET", "/v1/rooms/{id}/access-log", &RestApi::roomAccessLog);
  add(router, "GET", "/v1/access-log", &RestApi::accessLog);
  add(router, "GET", "/v1/rooms/{id}/events", &RestApi::events);
  add(router, "GET", "/v1/rooms/{id}/info", &RestApi::info);
  add(router, "GET", "/v1/webhooks/deliveries", &RestApi::webhookDeliveries);
  add(router, "POST", "/v1/webhooks/deliveries/{id}/replay", &RestApi::replayWebhookDelivery);
}

RestApi::~RestApi() {
  detach();
}

void RestApi::attach(ConsultationService* service, AccessLog* log) {
  service_ = service;
  log_ = log;
}

void RestApi::detach() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) {
    if (service_ != nullptr) service_->events().unsubscribe(id);
    stream.close();
  }
  service_ = nullptr;
  log_ = nullptr;
  webhooks_ = nullptr;
}

void RestApi::add(net::http::RouteTable& router, const char* method, const char* pattern,
                  void (RestApi::*fn)(Call&)) {
  std::string op = std::string(method) + " " + pattern;
  router.add(
      method, pattern,
      [this, fn, op](Request& req, Responder res) {
        Call call(req, std::move(res));
        call.op = op;
        if (service_ == nullptr) {
          call.res.send(errorResponse(makeError("not_ready", "the control plane is not running")));
          return;
        }
        (this->*fn)(call);
      },
      op);  // the metrics label: method and template
}

void RestApi::refuseApiKey(Call& call, const Error& error, bool log) {
  Responder res = call.res;
  if (!log || log_ == nullptr) {
    res.send(errorResponse(error));
    return;
  }
  AccessRecord r;
  r.event = AccessEvent::kApiAuthFailed;
  r.room = safeRoom(call.req.param("id"));
  r.remote = call.req.remoteAddress;
  r.reason = error.code;
  r.detail = {{"op", call.op}};
  log_->append(std::move(r), [res, error](Result<uint64_t>) mutable {
    res.send(errorResponse(error));  // the refusal stands even if its record failed
  });
}

// Backend: a valid API key. Participant routes (allow_participant) also take an invite token,
// which the service checks (and rate-limits) itself.
bool RestApi::authenticate(Call& call, bool allow_participant) {
  auto token = bearer(call.req);
  if (allow_participant && token && isInviteToken(*token)) {
    call.token = std::move(*token);
    return true;
  }
  // A valid key always passes (256-bit keys cannot be guessed); failures are limited per source
  // address so a flood neither floods the log nor gets unlimited answers.
  if (token && options_.verify_api_key && options_.verify_api_key(*token)) {
    call.backend = true;
    return true;
  }
  const int64_t now_us = clock_.nowUs();
  const std::string& remote = call.req.remoteAddress;
  if (auto verdict = apiKeyLimiter_.check(remote, now_us);
      verdict != AuthRateLimiter::Verdict::kAllow) {
    // Only the first refusal after the address ran out is logged.
    refuseApiKey(call,
                 makeError("rate_limited", "too many failed attempts from this address; wait"),
                 verdict == AuthRateLimiter::Verdict::kRefuse);
    return false;
  }
  apiKeyLimiter_.recordFailure(remote, now_us);
  refuseApiKey(call,
               makeError("invalid_api_key", token ? "the API key is not valid"
                                                  : "an Authorization: Bearer API key is required"),
               true);
  return false;
}

}  // namespace medrelay::control::api
