#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "control/auth_rate_limiter.h"
#include "control/clock.h"
#include "control/consultation_service.h"
#include "net/http/route_table.h"

namespace medrelay::control {
class WebhookSender;
}

namespace medrelay::control::api {

struct RestApiOptions {
  // True when the presented bearer value is an accepted API key (server::ApiKeySet::verify).
  std::function<bool(std::string_view)> verify_api_key;
  AuthRateLimiterOptions api_key_rate_limit;  // failed API-key attempts per source address
  size_t max_log_page = 1000;                 // GET …/access-log limit cap
};

// The consultation REST API (docs/api/openapi.yaml) on a RouteTable: backend routes authenticated
// by API key, participant routes by invite token. Every handler runs on the control dispatcher and
// calls one ConsultationService method; state changes answer from the service's durable
// callback. Until attach() every route answers 503 not_ready.
class RestApi {
 public:
  RestApi(net::http::RouteTable& router, Clock& clock, RestApiOptions options);
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  void attach(ConsultationService* service, AccessLog* log);
  // The webhook sender behind /v1/webhooks/… (null: webhooks are not configured).
  void attachWebhooks(WebhookSender* sender) { webhooks_ = sender; }
  // Closes every event stream and refuses further requests (shutdown).
  void detach();
  size_t openStreams() const { return streams_.size(); }

 private:
  struct Auth;
  class Call;

  void add(net::http::RouteTable& router, const char* method, const char* pattern,
           void (RestApi::*fn)(Call&));
  bool authenticate(Call& call, bool allow_participant);
  void refuseApiKey(Call& call, const Error& error, bool log);
  // A refusal decided here (parse, media type): logged and counted by the service, then answered.
  void refuse(Call& call, std::string_view op, const Error& error);

  void createRoom(Call& call);
  void getRoom(Call& call);
  void listRooms(Call& call);
  void patchRoom(Call& call);
  void cancelRoom(Call& call);
  void createInvite(Call& call);
  void listInvites(Call& call);
  void revokeInvite(Call& call);
  void admit(Call& call);
  void endConsultation(Call& call);
  void roomAccessLog(Call& call);
  void accessLog(Call& call);
  void events(Call& call);
  void info(Call& call);
  void answerLog(Call& call, std::string room);
  // rest_webhooks.cpp
  void webhookDeliveries(Call& call);
  void replayWebhookDelivery(Call& call);

  Clock& clock_;
  RestApiOptions options_;
  AuthRateLimiter apiKeyLimiter_;
  ConsultationService* service_ = nullptr;
  AccessLog* log_ = nullptr;
  WebhookSender* webhooks_ = nullptr;
  std::map<uint64_t, net::http::SseStream> streams_;  // by event-bus subscription
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace medrelay::control::api
