#include "net/http/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace medrelay::net::http {
namespace {

struct Collector {
  explicit Collector(RequestLimits limits = {})
      : parser(limits, {[this](Request&& r) { requests.push_back(std::move(r)); },
                        [this] { ++continues; }}) {}
  bool feed(std::string_view s) { return parser.feed(s); }
  bool feedByteByByte(std::string_view s) {
    bool ok = true;
    for (char c : s) ok = parser.feed(std::string_view(&c, 1));
    return ok;
  }
  std::vector<Request> requests;
  int continues = 0;
  RequestParser parser;
};

TEST(RequestParserTest, SimpleGetWithQueryAndHeaders) {
  Collector c;
  EXPECT_TRUE(
      c.feed("GET /v1/rooms/a%20b?limit=5&q=x+y HTTP/1.1\r\nHost: h\r\n"
             "X-Thing:  spaced value  \r\n\r\n"));
  ASSERT_EQ(c.requests.size(), 1u);
  const Request& r = c.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/v1/rooms/a%20b?limit=5&q=x+y");
  EXPECT_EQ(r.path, "/v1/rooms/a%20b");
  EXPECT_EQ(r.rawQuery, "limit=5&q=x+y");
  EXPECT_EQ(r.query("limit"), "5");
  EXPECT_EQ(r.query("q"), "x y");
  EXPECT_FALSE(r.query("missing").has_value());
  EXPECT_EQ(r.header("x-thing"), "spaced value");
  EXPECT_EQ(r.header("HOST"), "h");
  EXPECT_TRUE(r.keepAlive);
  EXPECT_EQ(c.parser.phase(), RequestParser::Phase::kIdle);
}

TEST(RequestParserTest, PipelinedRequestsInOneRead) {
  Collector c;
  std::string bytes =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
      "DELETE /c HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /partial HTTP/1.1\r\nHo";
  EXPECT_TRUE(c.feed(bytes));
  ASSERT_EQ(c.requests.size(), 3u);
  EXPECT_EQ(c.requests[0].path, "/a");
  EXPECT_EQ(c.requests[1].method, "POST");
  EXPECT_EQ(c.requests[1].body, "hello");
  EXPECT_EQ(c.requests[2].method, "DELETE");
  EXPECT_EQ(c.parser.phase(), RequestParser::Phase::kHeaders);
  EXPECT_TRUE(c.feed("st: h\r\n\r\n"));
  ASSERT_EQ(c.requests.size(), 4u);
  EXPECT_EQ(c.requests[3].path, "/partial");
}

TEST(RequestParserTest, ByteByByteEqualsOneRead) {
  std::string bytes =
      "POST /x?y=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
      "GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  Collector whole;
  Collector split;
  EXPECT_FALSE(whole.feed(bytes));  // stops after Connection: close
  EXPECT_FALSE(split.feedByteByByte(bytes));
  ASSERT_EQ(whole.requests.size(), 2u);
  ASSERT_EQ(split.requests.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(whole.requests[i].target, split.requests[i].target);
    EXPECT_EQ(whole.requests[i].body, split.requests[i].body);
    EXPECT_EQ(whole.requests[i].headers.all(), split.requests[i].headers.all());
  }
  EXPECT_EQ(split.requests[0].body, "hello world");
  EXPECT_FALSE(split.requests[1].keepAlive);
  EXPECT_FALSE(split.parser.failure().has_value());
}

TEST(RequestParserTest, OversizeHeaderIs431EvenWhenTrickled) {
  RequestLimits limits;
  limits.maxHeaderBytes = 256;
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n";
  Collector whole(limits);
  EXPECT_FALSE(whole.feed(big));
  ASSERT_TRUE(whole.parser.failure().has_value());
  EXPECT_EQ(whole.parser.failure()->status, 431);
  Collector trickle(limits);
  EXPECT_FALSE(trickle.feedByteByByte(big));
  ASSERT_TRUE(trickle.parser.failure().has_value());
  EXPECT_EQ(trickle.parser.failure()->status, 431);
  EXPECT_TRUE(trickle.requests.empty());
  // Exactly at the limit is fine.
  Collector ok(limits);
  EXPECT_TRUE(ok.feed("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(150, 'b') + "\r\n\r\n"));
  EXPECT_EQ(ok.requests.size(), 1u);
}

TEST(RequestParserTest, TooManyHeaderFieldsIs431) {
  RequestLimits limits;
  limits.maxHeaderCount = 5;
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 6; ++i) req += "X-" + std::to_string(i) + ": v\r\n";
  Collector c(limits);
  EXPECT_FALSE(c.feed(req + "\r\n"));
  EXPECT_EQ(c.parser.failure()->status, 431);
}

TEST(RequestParserTest, ContentLengthOverLimitIs413BeforeTheBody) {
  RequestLimits limits;
  limits.maxBodyBytes = 10;
  Collector c(limits);
  EXPECT_FALSE(c.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"));
  ASSERT_TRUE(c.parser.failure().has_value());
  EXPECT_EQ(c.parser.failure()->status, 413);
  EXPECT_EQ(c.parser.failure()->code, "payload_too_large");
}

TEST(RequestParserTest, ChunkedBodyOverLimitIs413) {
  RequestLimits limits;
  limits.maxBodyBytes = 10;
  Collector c(limits);
  EXPECT_TRUE(c.feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_EQ(c.parser.phase(), RequestParser::Phase::kBody);
  EXPECT_TRUE(c.feed("6\r\nabcdef\r\n"));
  // The next chunk header announces more than fits: refused before its data arrives.
  EXPECT_FALSE(c.feed("5\r\n"));
  EXPECT_EQ(c.parser.failure()->status, 413);
  // A huge chunk size must not overflow the arithmetic.
  Collector huge(limits);
  EXPECT_FALSE(huge.feed(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"));
  ASSERT_TRUE(huge.parser.failure().has_value());
  EXPECT_NE(huge.parser.failure()->status, 200);
}

TEST(RequestParserTest, MalformedRequestsAre400) {
  const char* bad[] = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET / HTTP/1.1\r\n\r\n",  // no Host
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
  };
  for (const char* b : bad) {
    Collector c;
    c.feed(b);
    ASSERT_TRUE(c.parser.failure().has_value()) << b;
    EXPECT_EQ(c.parser.failure()->status, 400) << b;
    EXPECT_TRUE(c.requests.empty()) << b;
  }
  Collector v2;
  v2.feed("GET / HTTP/2.0\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(v2.parser.failure().has_value());
  EXPECT_TRUE(v2.parser.failure()->status == 505 || v2.parser.failure()->status == 400);
}

TEST(RequestParserTest, ExpectContinueAndHttp10) {
  Collector c;
  EXPECT_TRUE(
      c.feed("PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
             "Content-Length: 3\r\n\r\n"));
  EXPECT_EQ(c.continues, 1);
  EXPECT_TRUE(c.feed("abc"));
  ASSERT_EQ(c.requests.size(), 1u);
  EXPECT_EQ(c.requests[0].body, "abc");

  Collector old;
  EXPECT_FALSE(old.feed("GET /old HTTP/1.0\r\n\r\n"));
  ASSERT_EQ(old.requests.size(), 1u);
  EXPECT_FALSE(old.requests[0].keepAlive);
  EXPECT_EQ(old.requests[0].httpMinor, 0);
}

TEST(RequestParserTest, AbsoluteFormTarget) {
  Collector c;
  EXPECT_TRUE(c.feed("GET http://example.com/v1/x?a=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  ASSERT_EQ(c.requests.size(), 1u);
  EXPECT_EQ(c.requests[0].path, "/v1/x");
  EXPECT_EQ(c.requests[0].rawQuery, "a=1");
}

TEST(HttpMessageTest, ReasonPhrasesAndHelpers) {
  const std::pair<int, const char*> expected[] = {
      {200, "OK"},
      {201, "Created"},
      {204, "No Content"},
      {304, "Not Modified"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {409, "Conflict"},
      {412, "Precondition Failed"},
      {413, "Content Too Large"},
      {415, "Unsupported Media Type"},
      {422, "Unprocessable Content"},
      {428, "Precondition Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {503, "Service Unavailable"},
  };
  for (auto [code, text] : expected) EXPECT_EQ(reasonPhrase(code), text) << code;

  Response e = Response::error(409, "conflict", "a \"live\" doctor invite exists");
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(e.headers.get("content-type"), "application/json");
  auto j = nlohmann::json::parse(e.body);
  EXPECT_EQ(j["code"], "conflict");
  EXPECT_EQ(j["message"], "a \"live\" doctor invite exists");
  // Invalid UTF-8 must not throw.
  Response bad = Response::json(200, {{"x", std::string("\xff\xfe")}});
  EXPECT_FALSE(bad.body.empty());

  EXPECT_EQ(percentDecode("a%2Fb%20c"), "a/b c");
  EXPECT_FALSE(percentDecode("%2").has_value());
  EXPECT_FALSE(percentDecode("%zz").has_value());
  EXPECT_TRUE(containsToken("keep-alive, Close", "close"));
  EXPECT_FALSE(containsToken("closed", "close"));
}

}  // namespace
}  // namespace medrelay::net::http
