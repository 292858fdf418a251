#include "net/http/route_table.h"

#include <gtest/gtest.h>

#include <optional>

namespace medrelay::net::http {
namespace {

Request makeRequest(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.target = r.path;
  return r;
}

class RouteTableTest : public ::testing::Test {
 protected:
  Response run(Request& req) {
    std::optional<Response> got;
    router.handle(req, Responder::toCallback([&](Response r) { got = std::move(r); }));
    EXPECT_TRUE(got.has_value());
    return got ? std::move(*got) : Response{};
  }
  static Handler echo(std::string tag) {
    return [tag](Request& req, Responder res) {
      nlohmann::json j = {{"tag", tag}, {"route", req.routeName}};
      for (const auto& [k, v] : req.params) j["params"][k] = v;
      res.send(Response::json(200, j));
    };
  }
  RouteTable router;
};

TEST_F(RouteTableTest, MatchesTemplatesAndCapturesDecodedParams) {
  router.add("GET", "/v1/rooms", echo("list"));
  router.add("GET", "/v1/rooms/{id}", echo("get"));
  router.add("DELETE", "/v1/rooms/{id}/invites/{invite}", echo("revoke"));
  router.add("GET", "/v1/rooms/special", echo("special"));

  auto req = makeRequest("DELETE", "/v1/rooms/r%201/invites/i-2");
  Response r = run(req);
  ASSERT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["tag"], "revoke");
  EXPECT_EQ(j["route"], "/v1/rooms/{id}/invites/{invite}");
  EXPECT_EQ(j["params"]["id"], "r 1");
  EXPECT_EQ(j["params"]["invite"], "i-2");
  EXPECT_EQ(req.param("invite"), "i-2");

  auto lit = makeRequest("GET", "/v1/rooms/special");
  EXPECT_EQ(nlohmann::json::parse(run(lit).body)["tag"], "special");  // literal beats {id}
  auto list = makeRequest("GET", "/v1/rooms");
  EXPECT_EQ(nlohmann::json::parse(run(list).body)["tag"], "list");
}

TEST_F(RouteTableTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  router.add("GET", "/v1/rooms/{id}", echo("get"));
  router.add("PATCH", "/v1/rooms/{id}", echo("patch"));

  auto missing = makeRequest("GET", "/v1/nothing");
  Response r404 = run(missing);
  EXPECT_EQ(r404.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r404.body)["code"], "not_found");
  EXPECT_EQ(missing.routeName, "unmatched");

  auto trailing = makeRequest("GET", "/v1/rooms/x/");
  EXPECT_EQ(run(trailing).status, 404);

  auto post = makeRequest("POST", "/v1/rooms/abc");
  Response r405 = run(post);
  EXPECT_EQ(r405.status, 405);
  EXPECT_EQ(nlohmann::json::parse(r405.body)["code"], "method_not_allowed");
  EXPECT_EQ(r405.headers.get("allow"), "GET, PATCH, HEAD, OPTIONS");
  EXPECT_EQ(post.routeName, "/v1/rooms/{id}");

  auto bad = makeRequest("GET", "/v1/rooms/%zz");
  EXPECT_EQ(run(bad).status, 400);
}

TEST_F(RouteTableTest, HeadFallsBackToGet) {
  router.add("GET", "/healthz", echo("health"));
  auto head = makeRequest("HEAD", "/healthz");
  EXPECT_EQ(run(head).status, 200);
}

TEST_F(RouteTableTest, OptionsAnswersPreflightWithCors) {
  router.add("POST", "/v1/rooms/{id}/whip", echo("whip"));
  auto pre = makeRequest("OPTIONS", "/v1/rooms/x/whip");
  pre.headers.add("Origin", "https://app.example");
  pre.headers.add("Access-Control-Request-Method", "POST");
  Response r = run(pre);
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers.get("allow"), "POST, OPTIONS");
  EXPECT_EQ(r.headers.get("access-control-allow-origin"), "*");
  EXPECT_EQ(r.headers.get("access-control-allow-methods"), "POST, OPTIONS");
  auto allowHeaders = std::string(*r.headers.get("access-control-allow-headers"));
  for (const char* h : {"Authorization", "Content-Type", "If-Match"}) {
    EXPECT_NE(allowHeaders.find(h), std::string::npos) << h;
  }
  EXPECT_TRUE(r.headers.has("access-control-max-age"));

  // Plain OPTIONS without Origin: Allow only.
  auto plain = makeRequest("OPTIONS", "/v1/rooms/x/whip");
  Response p = run(plain);
  EXPECT_EQ(p.status, 204);
  EXPECT_FALSE(p.headers.has("access-control-allow-origin"));

  auto unknown = makeRequest("OPTIONS", "/nope");
  EXPECT_EQ(run(unknown).status, 404);
}

TEST_F(RouteTableTest, CorsHeadersOnNormalResponsesAndRestrictedOrigins) {
  router.add("GET", "/x", echo("x"));
  auto req = makeRequest("GET", "/x");
  req.headers.add("Origin", "https://a.example");
  Response r = run(req);
  EXPECT_EQ(r.headers.get("access-control-allow-origin"), "*");
  auto exposed = std::string(*r.headers.get("access-control-expose-headers"));
  for (const char* h : {"Location", "ETag", "Link"}) {
    EXPECT_NE(exposed.find(h), std::string::npos) << h;
  }

  CorsOptions cors;
  cors.allowedOrigins = {"https://good.example"};
  RouteTable strict(cors);
  strict.add("GET", "/x", echo("x"));
  std::optional<Response> got;
  auto good = makeRequest("GET", "/x");
  good.headers.add("Origin", "https://good.example");
  strict.handle(good, Responder::toCallback([&](Response resp) { got = std::move(resp); }));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->headers.get("access-control-allow-origin"), "https://good.example");
  EXPECT_EQ(got->headers.get("vary"), "Origin");
  auto evil = makeRequest("GET", "/x");
  evil.headers.add("Origin", "https://evil.example");
  strict.handle(evil, Responder::toCallback([&](Response resp) { got = std::move(resp); }));
  EXPECT_FALSE(got->headers.has("access-control-allow-origin"));
}

TEST_F(RouteTableTest, DroppedResponderAnswers500AndSecondSendIsIgnored) {
  router.add("GET", "/drop", [](Request&, Responder) {});
  router.add("GET", "/twice", [](Request&, Responder res) {
    res.send(Response::empty(204));
    res.send(Response::empty(500));
  });
  auto drop = makeRequest("GET", "/drop");
  EXPECT_EQ(run(drop).status, 500);
  int calls = 0;
  int status = 0;
  auto twice = makeRequest("GET", "/twice");
  router.handle(twice, Responder::toCallback([&](Response r) {
                  ++calls;
                  status = r.status;
                }));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(status, 204);
}

}  // namespace
}  // namespace medrelay::net::http
