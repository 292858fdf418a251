// WHIP/WHEP signalling handlers of WhipEndpoint (RFC 9725), on the control thread.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>

#include "common/logging.h"
#include "control/policy.h"
#include "media/sdp/sdp_errors.h"
#include "media/sdp/sdp_parser.h"
#include "media/sdp/trickle_fragment.h"
#include "signalling/forwarding_policy.h"
#include "signalling/whip_endpoint.h"

namespace medrelay::signalling {
namespace {

namespace sdp = media::sdp;
using media::Fingerprint;
using media::ForwardingRules;
using media::IceLite;
using media::SessionSpec;

using net::http::Request;
using net::http::Responder;
using net::http::Response;

std::optional<std::string> bearerToken(const Request& r) {
  auto h = r.header("Authorization");
  if (!h) return std::nullopt;
  constexpr std::string_view kPrefix = "Bearer ";
  if (h->size() <= kPrefix.size() || !net::http::equalsIgnoreCase(h->substr(0, 7), kPrefix)) {
    return std::nullopt;
  }
  return std::string(h->substr(kPrefix.size()));
}

bool hasContentType(const Request& r, std::string_view type) {
  auto h = r.header("Content-Type");
  if (!h) return false;
  std::string_view v = *h;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return net::http::equalsIgnoreCase(v, type);
}

std::string sha256Hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

uint32_t randomSsrc() {
  uint32_t v = 0;
  while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

std::string newEtag() {
  return "\"" + IceLite::randomIceString(12) + "\"";
}

Response unauthorized() {
  auto r =
      Response::error(401, "unauthorized", "an invite token is required (Authorization: Bearer)");
  r.headers.set("WWW-Authenticate", "Bearer");
  return r;
}

Response sdpError(const Error& e) {
  int status = 400;
  if (e.code == sdp::kErrorUnsupported) status = 406;
  if (e.code == sdp::kErrorDataChannelDisabled) status = 422;
  if (e.code == sdp::kErrorTooLarge) status = 413;
  return Response::error(status, e.code, e.message);
}

Response policyError(const Error& e) {
  Response r = Response::json(control::policyStatus(e.code), control::errorBody(e));
  if (e.code == "cluster_unavailable") r.headers.set("Retry-After", "1");
  return r;
}

// RFC 3986 §2.3 unreserved characters kept, everything else %XX: values taken from the request
// (decoded) go back into a Location header.
std::string percentEncode(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void WhipEndpoint::registerRoutes(net::http::RouteTable& http) {
  http.add("POST", "/v1/rooms/{id}/whip",
           [this](Request& r, Responder res) { handleJoin(r, std::move(res), true); });
  http.add("POST", "/v1/rooms/{id}/whep",
           [this](Request& r, Responder res) { handleJoin(r, std::move(res), false); });
  http.add("PATCH", "/v1/rooms/{id}/sessions/{session}",
           [this](Request& r, Responder res) { handlePatch(r, std::move(res)); });
  http.add("DELETE", "/v1/rooms/{id}/sessions/{session}",
           [this](Request& r, Responder res) { handleDelete(r, std::move(res)); });
  http.add("GET", "/v1/rooms/{id}/ice-servers",
           [this](Request& r, Responder res) { handleIceServers(r, std::move(res)); });
}

// TURN credentials for the holder of an invite, valid until the room's window closes (the same
// ones the WHIP/WHEP answers carry in Link headers), for clients that gather before they offer.
void WhipEndpoint::handleIceServers(Request& request, Responder responder) {
  if (!service_) return responder.send(Response::error(503, "unavailable", "not ready"));
  auto token = bearerToken(request);
  if (!token) return responder.send(unauthorized());
  auto info =
      service_->participantInfo(*token, std::string(request.param("id")), request.remoteAddress);
  if (!info.ok()) return responder.send(policyError(info.error()));
  nlohmann::json servers = nlohmann::json::array();
  const int64_t expires = info->closes_at_us / 1000000;
  if (iceServerMinter_) {
    if (auto ice = iceServerMinter_(info->invite_id, expires)) {
      servers.push_back(
          {{"urls", ice->urls}, {"username", ice->username}, {"credential", ice->credential}});
    }
  }
  responder.send(Response::json(200, {{"ice_servers", servers}, {"expires_at_unix", expires}}));
}

void WhipEndpoint::handleJoin(Request& request, Responder responder, bool publish) {
  if (!service_ || !started_ || draining_) {
    return responder.send(Response::error(503, "unavailable", "media plane not ready"));
  }
  auto token = bearerToken(request);
  if (!token && cluster_ != nullptr) {
    // Redirected from another node: the invite token is sealed in the ticket (docs/cluster.md
    // "Redirects"), as a cross-origin redirect drops Authorization.
    if (auto ticket = request.query("ticket")) {
      auto opened = cluster_->tickets->open(*ticket, unixMs());
      if (!opened.ok()) return responder.send(policyError(opened.error()));
      if (opened->room_id != request.param("id")) {
        return responder.send(policyError(
            makeError("invalid_ticket", "the redirect ticket is for another consultation")));
      }
      token = opened->token;
    }
  }
  if (!token) return responder.send(unauthorized());
  if (!hasContentType(request, "application/sdp")) {
    return responder.send(
        Response::error(415, "unsupported_media_type", "the offer must be application/sdp"));
  }
  auto offer = sdp::parseSdp(request.body);
  if (!offer.ok()) return responder.send(sdpError(offer.error()));

  SessionSpec spec;
  spec.publish = publish;
  if (!publish) {
    if (auto p = request.query("participant")) {
      spec.targetInvite = *p;
    } else if (auto role = request.query("role")) {
      auto target = control::parseRole(*role);
      if (!target) {
        return responder.send(Response::error(400, "invalid_field", "role: unknown role"));
      }
      spec.targetRole = std::string(control::toString(*target));
    } else {
      return responder.send(Response::error(
          400, "target_required", "name whose media to receive: ?participant=<invite> or ?role="));
    }
  }
  const std::string roomId(request.param("id"));
  control::JoinRequest join{
      *token, roomId, publish ? control::SessionKind::kPublish : control::SessionKind::kSubscribe,
      request.remoteAddress, "udp"};
  if (cluster_ != nullptr) {
    return placeThenJoin(std::move(join), std::move(spec), std::move(offer).value(),
                         std::move(responder));
  }
  joinHere(std::move(join), std::move(spec), std::move(offer).value(), std::move(responder));
}

void WhipEndpoint::placeThenJoin(control::JoinRequest join, SessionSpec spec,
                                 sdp::SessionDescription offer, Responder responder) {
  // The room's node serves it (docs/cluster.md "Placement"); this node holds its records if the
  // backend created it here.
  const bool localRecords = service_->getRoom(join.room_id).ok();
  std::weak_ptr<char> alive = alive_;
  const std::string roomId = join.room_id;
  cluster_->node->placeRoom(
      roomId, localRecords,
      [this, alive, join = std::move(join), spec = std::move(spec), offer = std::move(offer),
       responder](Result<control::cluster::Placement> p) mutable {
        if (alive.expired() || !started_) return;
        using Outcome = control::cluster::Placement::Outcome;
        if (!p.ok() || p->outcome == Outcome::kNoNode) {
          // Running calls carry on; new joins wait for the store (or a node) to come back.
          Response r = Response::error(
              503, "cluster_unavailable",
              p.ok() ? "no relay node can serve this consultation now; try again shortly"
                     : "the cluster store is unreachable; try again shortly");
          r.headers.set("Retry-After", "1");
          return responder.send(std::move(r));
        }
        if (p->outcome == Outcome::kUnknown || p->local) {
          return joinHere(std::move(join), std::move(spec), std::move(offer), std::move(responder));
        }
        // Another node serves the room: RFC 9110 §15.4.8 307 keeps the method and the body.
        control::cluster::JoinTicket ticket{join.room_id, join.token,
                                            unixMs() + cluster_->ticketTtl.count()};
        std::string location = p->url + "/v1/rooms/" + percentEncode(join.room_id) +
                               (spec.publish ? "/whip?" : "/whep?");
        if (!spec.targetInvite.empty()) {
          location += "participant=" + percentEncode(spec.targetInvite) + "&";
        }
        if (!spec.targetRole.empty()) location += "role=" + percentEncode(spec.targetRole) + "&";
        location += "ticket=" + cluster_->tickets->seal(ticket);
        if (cluster_->redirected) cluster_->redirected();
        Response r = Response::json(
            307, {{"code", "moved"}, {"message", "this consultation is served by another node"}});
        r.headers.set("Location", location);
        responder.send(std::move(r));
      });
}

void WhipEndpoint::joinHere(control::JoinRequest join, SessionSpec spec,
                            sdp::SessionDescription offer, Responder responder) {
  const std::string roomId = join.room_id;
  const std::string token = join.token;
  std::weak_ptr<char> alive = alive_;
  service_->authorizeJoin(join, [this, alive, responder, spec = std::move(spec),
                                 offer = std::move(offer), digest = sha256Hex(token),
                                 roomId](Result<control::JoinGrant> grant) mutable {
    if (alive.expired() || !started_) return;
    if (!grant.ok() && grant.error().code == "already_connected") {
      return answerAlreadyConnected(grant.error(), roomId, digest, std::move(responder));
    }
    if (!grant.ok()) return responder.send(policyError(grant.error()));
    const size_t w = workerFor(roomId);
    const auto& cfg = options_;
    const std::string ip = cfg.announcedIp.empty() ? cfg.listenIp : cfg.announcedIp;

    sdp::LocalTransport local;
    local.iceUfrag = IceLite::randomIceString(IceLite::kUfragChars);
    local.icePwd = IceLite::randomIceString(IceLite::kPasswordChars);
    const Fingerprint& fp = certificate_->fingerprint();
    local.fingerprint.algorithm = "sha-256";
    local.fingerprint.value = fp.hex();
    local.fingerprint.bytes.assign(fp.digest.begin(), fp.digest.begin() + fp.size);
    local.candidates.push_back({sdp::LocalCandidate::Transport::kUdp, ip, workers_[w].udpPort});
    if (workers_[w].tcpPort != 0) {
      local.candidates.push_back(
          {sdp::LocalCandidate::Transport::kTcpPassive, ip, workers_[w].tcpPort});
    }
    local.sessionId = randomSsrc();
    std::vector<sdp::SendTrack> tracks;
    if (!spec.publish) {
      const std::string stream = "medrelay-" + IceLite::randomIceString(8);
      tracks.push_back({sdp::MediaKind::kAudio, randomSsrc(), 0, "medrelay", stream, "audio"});
      tracks.push_back(
          {sdp::MediaKind::kVideo, randomSsrc(), randomSsrc(), "medrelay", stream, "video"});
    }
    sdp::Capabilities caps;
    caps.dataChannels = options_.router.dataChannels.enabled;
    caps.maxMessageSize = options_.router.dataChannels.maxMessageSize;
    auto answer = sdp::negotiateAnswer(offer, caps, local, tracks);
    if (!answer.ok()) return responder.send(sdpError(answer.error()));
    const sdp::NegotiatedSession& neg = answer->session;
    auto transport = media::transportParams(local, neg);
    if (!transport) {
      return responder.send(Response::error(400, sdp::kErrorInvalidOffer, "bad a=fingerprint"));
    }
    spec.sessionId = grant->session_id;
    spec.roomId = roomId;
    spec.inviteId = grant->invite_id;
    spec.role = std::string(control::toString(grant->role));
    spec.transport = std::move(*transport);
    spec.negotiated = neg;
    auto room = service_->getRoom(roomId);
    // Who may receive whom, now that this invite is one of the room's participants.
    participants_[roomId][grant->invite_id] = grant->role;
    ForwardingRules rules;
    if (room.ok()) rules = forwardingRules(room->room, participants_[roomId]);
    std::string links;
    if (iceServerMinter_ && room.ok()) {
      if (auto ice = iceServerMinter_(grant->invite_id, room->room.closes_at_us / 1000000)) {
        links = ice->linkHeader;
      }
    }
    watchRoom(roomId);

    SessionRecord record{roomId,           w,
                         spec.publish,     digest,
                         newEtag(),        neg.remoteIceUfrag,
                         neg.remoteIcePwd, std::chrono::steady_clock::now()};
    auto shared = std::make_shared<SessionSpec>(std::move(spec));
    pool_.postTo(w, [this, alive, w, shared, rules = std::move(rules), responder, record, links,
                     grant = std::move(grant).value(), sdpText = answer->sdp]() mutable {
      Result<void> created = makeError("stopped", "worker stopped");
      if (workers_[w].router) {
        created = workers_[w].router->createSession(*shared);
        workers_[w].router->setForwardingRules(record.roomId, std::move(rules));
      }
      control_.post([this, alive, w, responder, record, grant = std::move(grant), sdpText, links,
                     created]() mutable {
        if (alive.expired()) return;
        if (!created.ok()) {
          MR_LOG_WARN(log::get("ice"), "media: session setup failed: {}", created.error().message);
          return responder.send(
              Response::error(500, "media_setup_failed", created.error().message));
        }
        const std::string id = grant.session_id;
        sessions_[id] = record;
        service_->sessionStarted(grant, [this, alive, w, id, responder, record, sdpText,
                                         links](Result<control::Session> s) mutable {
          if (alive.expired()) return;
          if (!s.ok()) {
            sessions_.erase(id);
            pool_.postTo(w, [this, w, id] {
              if (workers_[w].router) workers_[w].router->closeSession(id);
            });
            if (s.error().code == "already_connected") {
              return answerAlreadyConnected(s.error(), record.roomId, record.tokenDigest,
                                            std::move(responder));
            }
            return responder.send(policyError(s.error()));
          }
          Response r = Response::text(201, sdpText, "application/sdp");
          // In a cluster the Location names this node outright: PATCH and DELETE need not
          // follow a redirect (docs/cluster.md "Redirects").
          r.headers.set("Location", (cluster_ != nullptr ? cluster_->publicUrl : std::string()) +
                                        "/v1/rooms/" + record.roomId + "/sessions/" + id);
          r.headers.set("ETag", record.etag);
          if (!links.empty()) r.headers.set("Link", links);
          responder.send(std::move(r));
        });
      });
    });
  });
}

// RFC 9110 §10.2.3 Retry-After in whole seconds; the body's retry_after_ms and stale_at say it
// to the millisecond (docs/api.md "Rejoining").
void WhipEndpoint::answerAlreadyConnected(const Error& error, const std::string& roomId,
                                          const std::string& digest, Responder responder) {
  std::string sessionId;
  size_t w = 0;
  for (const auto& [id, rec] : sessions_) {
    if (rec.publish && rec.roomId == roomId && rec.tokenDigest == digest) {
      sessionId = id;
      w = rec.worker;
    }
  }
  std::weak_ptr<char> alive = alive_;
  // The stale report reaches the control plane within one liveness check of the moment.
  const auto margin = static_cast<uint64_t>(options_.router.livenessInterval.count());
  auto answer = [this, alive, error, responder, margin](uint64_t untilStale) mutable {
    if (alive.expired()) return;
    const uint64_t wait = untilStale + margin;
    nlohmann::json body = control::errorBody(error);
    body["retry_after_ms"] = wait;
    const auto staleAt = std::chrono::system_clock::now() + std::chrono::milliseconds(wait);
    body["stale_at"] = control::formatTime(
        std::chrono::duration_cast<std::chrono::microseconds>(staleAt.time_since_epoch()).count());
    Response r = Response::json(control::policyStatus(error.code), body);
    r.headers.set("Retry-After", std::to_string((wait + 999) / 1000));
    responder.send(std::move(r));
  };
  const auto longest = static_cast<uint64_t>(options_.router.staleAfter.count());
  if (sessionId.empty() || !workers_.at(w).router) {
    // The live session is not one this endpoint set up (a restart raced the join): the longest
    // it can take to go silent-stale.
    return answer(longest);
  }
  pool_.postTo(w, [this, alive, w, sessionId, longest, answer = std::move(answer)]() mutable {
    std::optional<uint64_t> left;
    if (workers_[w].router) left = workers_[w].router->msUntilStale(sessionId);
    control_.post(
        [answer = std::move(answer), left, longest]() mutable { answer(left.value_or(longest)); });
  });
}

WhipEndpoint::SessionRecord* WhipEndpoint::authorizeSession(const Request& request,
                                                            Responder& responder) {
  if (!service_ || !started_) {
    responder.send(Response::error(503, "unavailable", "media plane not ready"));
    return nullptr;
  }
  auto token = bearerToken(request);
  if (!token) {
    responder.send(unauthorized());
    return nullptr;
  }
  auto it = sessions_.find(std::string(request.param("session")));
  if (it == sessions_.end() || it->second.roomId != request.param("id")) {
    responder.send(Response::error(404, "not_found", "no such session"));
    return nullptr;
  }
  const std::string digest = sha256Hex(*token);
  if (digest.size() != it->second.tokenDigest.size() ||
      CRYPTO_memcmp(digest.data(), it->second.tokenDigest.data(), digest.size()) != 0) {
    responder.send(Response::error(403, "forbidden", "the session belongs to another invite"));
    return nullptr;
  }
  return &it->second;
}

void WhipEndpoint::handlePatch(Request& request, Responder responder) {
  SessionRecord* rec = authorizeSession(request, responder);
  if (!rec) return;
  if (!hasContentType(request, "application/trickle-ice-sdpfrag")) {
    return responder.send(Response::error(415, "unsupported_media_type",
                                          "PATCH takes application/trickle-ice-sdpfrag"));
  }
  auto frag = sdp::parseTrickleFragment(request.body);
  if (!frag.ok()) return responder.send(sdpError(frag.error()));
  auto ifMatch = request.header("If-Match");
  const bool restart = frag->isIceRestart(rec->iceUfrag, rec->icePwd);
  // RFC 9725 §4.3.2: an ICE restart needs If-Match: * (428 without it).
  if (restart && !ifMatch) {
    return responder.send(
        Response::error(428, "precondition_required", "ICE restart needs If-Match"));
  }
  if (ifMatch && *ifMatch != "*" && *ifMatch != rec->etag) {
    return responder.send(Response::error(412, "precondition_failed", "ETag does not match"));
  }
  if (!restart) {
    // ICE-lite: the peer's candidates are learned from its checks; trickled ones are not needed.
    return responder.send(Response::empty(204));
  }
  const std::string id(request.param("session"));
  const size_t w = rec->worker;
  rec->iceUfrag = frag->iceUfrag;
  rec->icePwd = frag->icePwd;
  rec->etag = newEtag();
  const std::string etag = rec->etag;
  std::weak_ptr<char> alive = alive_;
  pool_.postTo(w, [this, alive, w, id, etag, responder, ufrag = frag->iceUfrag,
                   pwd = frag->icePwd]() mutable {
    Result<std::pair<std::string, std::string>> creds = makeError("not_found", "no such session");
    if (workers_[w].router) creds = workers_[w].router->restartIce(id, ufrag, pwd);
    control_.post([alive, responder, creds, etag]() mutable {
      if (alive.expired()) return;
      if (!creds.ok()) return responder.send(Response::error(404, "not_found", "no such session"));
      Response r = Response::text(
          200, "a=ice-ufrag:" + creds->first + "\r\na=ice-pwd:" + creds->second + "\r\n",
          "application/trickle-ice-sdpfrag");
      r.headers.set("ETag", etag);
      responder.send(std::move(r));
    });
  });
}

void WhipEndpoint::handleDelete(Request& request, Responder responder) {
  SessionRecord* rec = authorizeSession(request, responder);
  if (!rec) return;
  const std::string id(request.param("session"));
  const size_t w = rec->worker;
  sessions_.erase(id);
  pool_.postTo(w, [this, w, id] {
    if (workers_[w].router) workers_[w].router->closeSession(id);
  });
  service_->sessionEnded(id, "hangup", [responder](Result<void> r) mutable {
    if (!r.ok()) return responder.send(policyError(r.error()));
    responder.send(Response::empty(200));
  });
}

}  // namespace medrelay::signalling
