// The REST handlers: one ConsultationService call each (docs/api/openapi.yaml).
#include <charconv>
#include <memory>
#include <utility>

#include "control/access_log_reader.h"
#include "control/access_log_record.h"
#include "control/api/rest_api.h"
#include "control/api/rest_util.h"
#include "control/fhir_audit_event.h"

namespace medrelay::control::api {

using namespace rest;  // NOLINT

namespace {

std::optional<uint64_t> parseUint(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

void RestApi::refuse(Call& call, std::string_view op, const Error& error) {
  Responder res = call.res;
  service_->recordRefusal(safeRoom(call.room()), op, error,
                          [res, error](Result<void>) mutable { res.send(errorResponse(error)); });
}

void RestApi::createRoom(Call& call) {
  if (!authenticate(call, false)) return;
  auto body = jsonBody(call.req, false);
  if (!body.ok()) return refuse(call, "create_room", body.error());
  auto parsed = parseCreateRoom(body.value());
  if (!parsed.ok()) return refuse(call, "create_room", parsed.error());
  Clock* clock = &clock_;
  service_->createRoom(parsed.value(), answer<Room>(call.res, [clock](const Room& room) {
                         Response r = jsonResponse(201, toJson(room, clock->nowUs()));
                         r.headers.set("Location", "/v1/rooms/" + room.id);
                         return r;
                       }));
}

void RestApi::getRoom(Call& call) {
  if (!authenticate(call, false)) return;
  auto detail = service_->getRoom(call.room());
  if (!detail.ok()) return call.res.send(errorResponse(detail.error()));
  call.res.send(jsonResponse(200, toJson(detail.value(), clock_.nowUs())));
}

void RestApi::listRooms(Call& call) {
  if (!authenticate(call, false)) return;
  std::map<std::string, std::string> query;
  for (const char* name : {"state", "from", "to", "cursor", "limit"}) {
    if (auto v = call.req.query(name)) query[name] = *v;
  }
  auto filter = parseRoomFilter(query);
  if (!filter.ok()) return refuse(call, "list_rooms", filter.error());
  auto page = service_->listRooms(filter.value());
  if (!page.ok()) return call.res.send(errorResponse(page.error()));
  const int64_t now_us = clock_.nowUs();
  nlohmann::json rooms = nlohmann::json::array();
  for (const auto& room : page->rooms) rooms.push_back(toJson(room, now_us));
  nlohmann::json body = {{"rooms", std::move(rooms)}, {"next_cursor", nullptr}};
  if (!page->next_cursor.empty()) body["next_cursor"] = page->next_cursor;
  call.res.send(jsonResponse(200, body));
}

void RestApi::patchRoom(Call& call) {
  if (!authenticate(call, false)) return;
  auto body = jsonBody(call.req, false);
  if (!body.ok()) return refuse(call, "patch_room", body.error());
  auto parsed = parsePatchRoom(body.value());
  if (!parsed.ok()) return refuse(call, "patch_room", parsed.error());
  Clock* clock = &clock_;
  service_->patchRoom(call.room(), parsed.value(),
                      answer<Room>(call.res, [clock](const Room& room) {
                        return jsonResponse(200, toJson(room, clock->nowUs()));
                      }));
}

void RestApi::cancelRoom(Call& call) {
  if (!authenticate(call, false)) return;
  Clock* clock = &clock_;
  service_->cancelRoom(call.room(), answer<Room>(call.res, [clock](const Room& room) {
                         return jsonResponse(200, toJson(room, clock->nowUs()));
                       }));
}

void RestApi::createInvite(Call& call) {
  if (!authenticate(call, false)) return;
  auto body = jsonBody(call.req, false);
  if (!body.ok()) return refuse(call, "create_invite", body.error());
  auto parsed = parseCreateInvite(body.value());
  if (!parsed.ok()) return refuse(call, "create_invite", parsed.error());
  service_->createInvite(
      call.room(), parsed.value(), answer<IssuedInvite>(call.res, [](const IssuedInvite& issued) {
        Response r = jsonResponse(201, toJson(issued));
        r.headers.set("Location",
                      "/v1/rooms/" + issued.invite.room_id + "/invites/" + issued.invite.id);
        return r;
      }));
}

void RestApi::listInvites(Call& call) {
  if (!authenticate(call, false)) return;
  auto invites = service_->listInvites(call.room());
  if (!invites.ok()) return call.res.send(errorResponse(invites.error()));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& inv : invites.value()) list.push_back(toJson(inv));
  call.res.send(jsonResponse(200, {{"invites", std::move(list)}}));
}

void RestApi::revokeInvite(Call& call) {
  if (!authenticate(call, false)) return;
  service_->revokeInvite(
      call.room(), std::string(call.req.param("invite")),
      answer<Invite>(call.res, [](const Invite& inv) { return jsonResponse(200, toJson(inv)); }));
}

void RestApi::admit(Call& call) {
  if (!authenticate(call, true)) return;
  auto body = jsonBody(call.req, true);
  if (!body.ok()) return refuse(call, "admit", body.error());
  Clock* clock = &clock_;
  service_->admit(call.room(), call.caller(), answer<Room>(call.res, [clock](const Room& room) {
                    return jsonResponse(200, toJson(room, clock->nowUs()));
                  }));
}

void RestApi::endConsultation(Call& call) {
  if (!authenticate(call, true)) return;
  auto body = jsonBody(call.req, true);
  if (!body.ok()) return refuse(call, "end", body.error());
  Clock* clock = &clock_;
  service_->endConsultation(call.room(), call.caller(),
                            answer<Room>(call.res, [clock](const Room& room) {
                              return jsonResponse(200, toJson(room, clock->nowUs()));
                            }));
}

void RestApi::roomAccessLog(Call& call) {
  if (!authenticate(call, false)) return;
  auto detail = service_->getRoom(call.room());
  if (!detail.ok()) return call.res.send(errorResponse(detail.error()));
  answerLog(call, call.room());
}

void RestApi::accessLog(Call& call) {
  if (!authenticate(call, false)) return;
  answerLog(call, {});
}

// Records in sequence order; `next_after` pages on (the last seq when the page is full).
void RestApi::answerLog(Call& call, std::string room) {
  AccessLogQuery q;
  q.room = std::move(room);
  q.limit = std::min<size_t>(100, options_.max_log_page);
  if (auto since = call.req.query("since")) {
    auto us = parseRfc3339(*since);
    if (!us)
      return refuse(call, "read_access_log", makeError("invalid_field", "since: not RFC 3339"));
    q.since_us = *us;
  }
  if (auto after = call.req.query("after")) {
    auto seq = parseUint(*after);
    if (!seq)
      return refuse(call, "read_access_log",
                    makeError("invalid_field", "after: not a sequence number"));
    q.after_seq = *seq;
  }
  if (auto limit = call.req.query("limit")) {
    auto n = parseUint(*limit);
    if (!n || *n == 0 || *n > options_.max_log_page) {
      return refuse(
          call, "read_access_log",
          makeError("invalid_field", "limit: 1.." + std::to_string(options_.max_log_page)));
    }
    q.limit = static_cast<size_t>(*n);
  }
  bool fhir = false;
  if (auto format = call.req.query("format")) {
    if (*format != "fhir" && *format != "json") {
      return refuse(call, "read_access_log", makeError("invalid_field", "format: json or fhir"));
    }
    fhir = *format == "fhir";
  }
  if (log_ == nullptr) return call.res.send(errorResponse(makeError("not_ready", "no access log")));
  // The head is taken first: every record of the page is at or before it.
  const ChainHead head = log_->durableHead();
  auto records = AccessLogReader(log_->dir()).query(q);
  if (!records.ok()) return call.res.send(errorResponse(records.error()));
  const bool more = !records->empty() && records->size() >= q.limit;
  if (fhir) {
    nlohmann::json bundle = toFhirBundle(records.value(), head);
    if (more) {
      std::string next = "/v1/access-log?format=fhir&after=" + std::to_string(records->back().seq) +
                         "&limit=" + std::to_string(q.limit);
      if (!q.room.empty()) next = "/v1/rooms/" + q.room + "/access-log" + next.substr(14);
      bundle["link"] = nlohmann::json::array({{{"relation", "next"}, {"url", next}}});
    }
    Response r = jsonResponse(200, bundle);
    r.headers.set("Content-Type", "application/fhir+json");
    return call.res.send(std::move(r));
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& rec : records.value()) list.push_back(toJson(rec, true));
  nlohmann::json body = {
      {"records", std::move(list)}, {"next_after", nullptr}, {"chain_head", toJson(head)}};
  if (more) body["next_after"] = records->back().seq;
  call.res.send(jsonResponse(200, body));
}

void RestApi::events(Call& call) {
  if (!authenticate(call, true)) return;
  const std::string room = call.room();
  Audience audience = Audience::kBackend;
  std::string invite_id;
  std::optional<Role> role;
  if (call.backend) {
    auto detail = service_->getRoom(room);
    if (!detail.ok()) return call.res.send(errorResponse(detail.error()));
  } else {
    auto info = service_->participantInfo(call.token, room, call.req.remoteAddress);
    if (!info.ok()) return call.res.send(errorResponse(info.error()));
    // A participant's stream ends with the room (its last event is `ended`): one opened after
    // that would never hear anything again, so it is refused as a join would be.
    if (clock_.nowUs() >= info->closes_at_us) {
      return call.res.send(
          errorResponse(makeError("window_closed", "the consultation's window has closed")));
    }
    if (info->state == RoomState::kEnded) {
      return call.res.send(
          errorResponse(makeError("room_ended", "the consultation has already ended")));
    }
    audience = Audience::kParticipant;
    invite_id = info->invite_id;
    role = info->role;
  }
  net::http::SseOptions opts;
  opts.retryMs = 3000;
  net::http::SseStream stream = call.res.startSse(opts);
  if (!stream.open()) return;
  // A participant's subscription ends with its last event (revoked, cancelled, ended): the
  // stream closes right after it, so nothing later reaches a revoked invite (docs/api.md).
  auto id_holder = std::make_shared<uint64_t>(0);
  std::weak_ptr<char> alive = alive_;
  auto on_end = [this, alive, stream, id_holder]() mutable {
    if (alive.expired()) return;
    streams_.erase(*id_holder);
    stream.close();
  };
  const uint64_t id = service_->events().subscribe(
      room, audience,
      [stream](const nlohmann::json& event) mutable {
        stream.send(event.value("type", std::string("event")), event.dump());
      },
      invite_id, std::move(on_end), role);
  *id_holder = id;
  streams_[id] = stream;
  stream.onClosed([this, alive, id] {
    if (alive.expired()) return;
    streams_.erase(id);
    if (service_ != nullptr) service_->events().unsubscribe(id);
  });
  stream.comment("subscribed");
}

void RestApi::info(Call& call) {
  auto token = bearer(call.req);
  auto info = service_->participantInfo(token ? *token : std::string(), call.room(),
                                        call.req.remoteAddress);
  if (!info.ok()) return call.res.send(errorResponse(info.error()));
  nlohmann::json body = toJson(info.value());
  // Whether a join would be let in now (rule 4); the early refusal carries opens_at and the
  // Japanese wording so the page can show it.
  Room room;
  room.id = info->room_id;
  room.state = info->state == RoomState::kEnded ? RoomState::kEnded : RoomState::kScheduled;
  room.opens_at_us = info->opens_at_us;
  room.closes_at_us = info->closes_at_us;
  Invite invite;
  invite.room_id = info->room_id;
  const int64_t now_us = clock_.nowUs();
  Result<void> window = [&]() -> Result<void> {
    if (now_us >= room.closes_at_us) {
      return makeError("window_closed", "the consultation's window has closed");
    }
    return checkInviteWindow(room, invite, room.id, now_us);
  }();
  if (window.ok()) {
    body["join"] = {{"allowed", true}};
  } else {
    nlohmann::json join = errorBody(window.error());
    join["allowed"] = false;
    body["join"] = std::move(join);
  }
  call.res.send(jsonResponse(200, body));
}

}  // namespace medrelay::control::api
