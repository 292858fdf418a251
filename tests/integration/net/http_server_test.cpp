#include "net/http/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/http/route_table.h"
#include "tests/integration/net/http_test_client.h"

namespace medrelay::net::http {
namespace {

using namespace std::chrono_literals;
using test::get;
using test::TestClient;

template <typename F>
bool eventually(F f, std::chrono::milliseconds timeout = 3000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() : loop_("http-test") {}
  ~HttpServerTest() override {
    loop_.runSync([&] {
      server_.reset();
      parked_.clear();
      streams_.clear();
    });
  }

  void start(HttpServerOptions opts = {}) {
    router_.add("GET", "/hello", [](Request& req, Responder res) {
      res.send(Response::text(200, "hello " + std::string(req.query("who").value_or("you"))));
    });
    router_.add("POST", "/echo",
                [](Request& req, Responder res) { res.send(Response::text(200, req.body)); });
    // Parks the responder; the test answers it later from the loop.
    router_.add("GET", "/park/{n}", [this](Request& req, Responder res) {
      parked_.emplace_back(std::string(req.param("n")), std::move(res));
      ++parkedCount_;
    });
    router_.add("GET", "/events", [this](Request&, Responder res) {
      SseOptions o;
      o.keepAliveInterval = 50ms;
      o.retryMs = 1000;
      SseStream s = res.startSse(o);
      s.onClosed([this] { ++sseClosed_; });
      s.send("hello", "line1\nline2", "1");
      streams_.push_back(s);
    });
    if (opts.timeouts.header == HttpTimeouts{}.header) {
      opts.timeouts.header = 2000ms;
      opts.timeouts.body = 2000ms;
      opts.timeouts.idle = 2000ms;
      opts.timeouts.linger = 200ms;
    }
    opts.onRequestDone = [this](const std::string& route, int status, double seconds) {
      std::lock_guard lock(doneMutex_);
      done_.push_back(route + " " + std::to_string(status));
      EXPECT_GE(seconds, 0.0);
    };
    loop_.runSync([&] {
      server_ = std::make_unique<HttpServer>(loop_.dispatcher(), opts, router_.handler());
      auto r = server_->listen();
      ASSERT_TRUE(r.ok()) << r.error().message;
      port_ = server_->port();
    });
    ASSERT_NE(port_, 0);
  }

  size_t connections() {
    size_t n = 0;
    loop_.runSync([&] { n = server_ ? server_->connectionCount() : 0; });
    return n;
  }

  // Answers the parked request whose path number is n.
  void answer(const std::string& n) {
    loop_.runSync([&] {
      for (auto& [k, res] : parked_) {
        if (k == n) res.send(Response::text(200, "answer " + n));
      }
    });
  }

  DispatcherThread loop_;
  RouteTable router_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::vector<std::pair<std::string, Responder>> parked_;
  std::atomic<int> parkedCount_{0};
  std::vector<SseStream> streams_;
  std::atomic<int> sseClosed_{0};
  std::mutex doneMutex_;
  std::vector<std::string> done_;
};

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  TestClient c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/hello?who=a")));
  auto r1 = c.readResponse();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r1->body, "hello a");
  EXPECT_FALSE(r1->has("connection"));
  EXPECT_TRUE(r1->has("date"));
  ASSERT_TRUE(c.send(get("/hello?who=b")));
  auto r2 = c.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "hello b");
  EXPECT_EQ(connections(), 1u);
  std::lock_guard lock(doneMutex_);
  ASSERT_EQ(done_.size(), 2u);
  EXPECT_EQ(done_[0], "/hello 200");
}

TEST_F(HttpServerTest, PipelinedAsyncAnswersOutOfOrderComeBackInOrder) {
  start();
  TestClient c(port_);
  ASSERT_TRUE(c.send(get("/park/1") + get("/park/2") + get("/hello") + get("/park/3")));
  ASSERT_TRUE(eventually([&] { return parkedCount_ == 3; }));
  answer("3");
  answer("2");
  // Nothing may overtake the unanswered first request.
  EXPECT_FALSE(c.fill(100ms));
  EXPECT_TRUE(c.buffer().empty());
  answer("1");
  const char* expected[] = {"answer 1", "answer 2", "hello you", "answer 3"};
  for (const char* e : expected) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << e;
    EXPECT_EQ(r->body, e);
  }
}

TEST_F(HttpServerTest, ChunkedBodyHeadAndConnectionClose) {
  start();
  TestClient c(port_);
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abcdefg");
  ASSERT_TRUE(c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto h = c.readResponse(/*head=*/true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->get("content-length"), "9");
  ASSERT_TRUE(c.send(get("/hello", "Connection: close\r\n")));
  auto last = c.readResponse();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->body, "hello you");  // no HEAD body leaked in front of it
  EXPECT_EQ(last->get("connection"), "close");
  EXPECT_TRUE(c.waitClosed());
  EXPECT_TRUE(eventually([&] { return connections() == 0; }));
}

TEST_F(HttpServerTest, ExpectContinueGets100ThenTheAnswer) {
  start();
  TestClient c(port_);
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 2\r\n\r\n"));
  auto interim = c.readResponse();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("ok"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
}

TEST_F(HttpServerTest, BadInputGetsErrorThenClose) {
  HttpServerOptions opts;
  opts.limits.maxHeaderBytes = 1024;
  opts.limits.maxBodyBytes = 100;
  start(opts);
  struct Case {
    std::string bytes;
    int status;
    const char* code;
  } cases[] = {
      {"BROKEN REQUEST\r\n\r\n", 400, "bad_request"},
      {get("/hello", "X-Big: " + std::string(2000, 'x') + "\r\n"), 431, "header_fields_too_large"},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413, "payload_too_large"},
      {"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n", 413,
       "payload_too_large"},
  };
  for (const auto& tc : cases) {
    TestClient c(port_);
    ASSERT_TRUE(c.send(tc.bytes));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << tc.code;
    EXPECT_EQ(r->status, tc.status);
    EXPECT_EQ(r->get("content-type"), "application/json");
    EXPECT_EQ(r->get("connection"), "close");
    EXPECT_EQ(nlohmann::json::parse(r->body)["code"], tc.code);
    EXPECT_TRUE(c.waitClosed()) << tc.code;
  }
  // A good request before a bad one in the same read is still answered first.
  TestClient c(port_);
  ASSERT_TRUE(c.send(get("/hello") + "NONSENSE\r\n\r\n"));
  auto ok = c.readResponse();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto bad = c.readResponse();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(c.waitClosed());
}

TEST_F(HttpServerTest, HeaderTimeoutCutsSlowLoris) {
  HttpServerOptions opts;
  opts.timeouts.header = 200ms;
  opts.timeouts.idle = 5000ms;
  opts.timeouts.linger = 100ms;
  start(opts);
  TestClient c(port_);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: t\r\n"));
  bool cut = false;
  for (int i = 0; i < 100 && !cut; ++i) {  // one header byte every 20 ms, for up to 2 s
    if (!c.send("X")) break;
    cut = c.waitClosed(20ms);
  }
  if (!cut) cut = c.waitClosed(1000ms);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(cut);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_GE(elapsed, 190ms);
  EXPECT_NE(c.buffer().find("408"), std::string::npos) << c.buffer();
}

TEST_F(HttpServerTest, EachPipelinedRequestGetsItsOwnHeaderDeadline) {
  HttpServerOptions opts;
  opts.timeouts.header = 300ms;
  opts.timeouts.idle = 5000ms;
  start(opts);
  TestClient c(port_);
  std::string r2 = get("/hello?who=2");
  std::string r3 = get("/hello?who=3");
  ASSERT_TRUE(c.send(get("/hello?who=1") + r2.substr(0, 10)));
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(c.send(r2.substr(10) + r3.substr(0, 10)));
  std::this_thread::sleep_for(200ms);  // 400 ms after the first byte, 200 ms into request 3
  ASSERT_TRUE(c.send(r3.substr(10)));
  for (const char* who : {"hello 1", "hello 2", "hello 3"}) {
    auto r = c.readResponse();
    ASSERT_TRUE(r) << who;
    EXPECT_EQ(r->status, 200) << who;
    EXPECT_EQ(r->body, who);
  }
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions opts;
  opts.timeouts.header = 2000ms;
  opts.timeouts.idle = 200ms;
  opts.timeouts.linger = 100ms;
  start(opts);
  TestClient c(port_);
  ASSERT_TRUE(c.send(get("/hello")));
  ASSERT_TRUE(c.readResponse());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.waitClosed(2000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_TRUE(c.buffer().empty());  // idle close sends nothing
  EXPECT_TRUE(eventually([&] { return connections() == 0; }));
}

TEST_F(HttpServerTest, ConnectionLimitAnswers503) {
  HttpServerOptions opts;
  opts.maxConnections = 2;
  start(opts);
  TestClient a(port_);
  TestClient b(port_);
  ASSERT_TRUE(eventually([&] { return connections() == 2; }));
  TestClient c(port_);
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(c.waitClosed());
  // The admitted ones still work, and a slot frees up when one leaves.
  ASSERT_TRUE(a.send(get("/hello")));
  ASSERT_TRUE(a.readResponse());
  b.close();
  ASSERT_TRUE(eventually([&] { return connections() == 1; }));
  TestClient d(port_);
  ASSERT_TRUE(d.send(get("/hello")));
  auto ok = d.readResponse();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(HttpServerTest, SseStreamsEventsSurvivesIdleAndReportsDisconnect) {
  HttpServerOptions opts;
  opts.timeouts.idle = 100ms;
  opts.timeouts.header = 2000ms;
  start(opts);
  TestClient c(port_);
  ASSERT_TRUE(c.send(get("/events")));
  auto head = c.readUntil("\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_NE(head->find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(head->find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(head->find("Cache-Control: no-store"), std::string::npos);
  EXPECT_EQ(head->find("Content-Length"), std::string::npos);
  EXPECT_TRUE(c.readUntil("retry: 1000\n\n"));
  auto first = c.readUntil("\n\n");
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, "event: hello\nid: 1\ndata: line1\ndata: line2\n\n");
  // Well past the idle timeout the stream is open and keep-alive comments flow.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(c.readUntil(": keep-alive\n\n"));
  loop_.runSync([&] {
    ASSERT_EQ(streams_.size(), 1u);
    EXPECT_TRUE(streams_[0].send("joined", "{\"role\":\"doctor\"}"));
  });
  EXPECT_TRUE(c.readUntil("event: joined\ndata: {\"role\":\"doctor\"}\n\n"));
  EXPECT_EQ(sseClosed_, 0);
  c.close();
  EXPECT_TRUE(eventually([&] { return sseClosed_ == 1; }));
  loop_.runSync([&] {
    EXPECT_FALSE(streams_[0].open());
    EXPECT_FALSE(streams_[0].send("late", "x"));
  });
  EXPECT_TRUE(eventually([&] { return connections() == 0; }));
}

TEST_F(HttpServerTest, SseCloseFromServerEndsConnection) {
  start();
  TestClient c(port_);
  ASSERT_TRUE(c.send(get("/events")));
  ASSERT_TRUE(c.readUntil("data: line2\n\n"));
  loop_.runSync([&] { streams_[0].close(); });
  EXPECT_TRUE(c.waitClosed());
  EXPECT_EQ(sseClosed_, 0);  // our own close() does not call onClosed
}

TEST_F(HttpServerTest, ResponderAfterClientLeftIsHarmless) {
  start();
  {
    TestClient c(port_);
    ASSERT_TRUE(c.send(get("/park/9")));
    ASSERT_TRUE(eventually([&] { return parkedCount_ == 1; }));
  }
  ASSERT_TRUE(eventually([&] { return connections() == 0; }));
  loop_.runSync([&] { EXPECT_FALSE(parked_[0].second.connected()); });
  answer("9");  // no crash, no effect
  // And from another thread (posted to the loop).
  Responder copy = parked_[0].second;
  std::thread([copy]() mutable { copy.send(Response::empty(204)); }).join();
  loop_.runSync([] {});
  EXPECT_EQ(connections(), 0u);
}

TEST_F(HttpServerTest, ResponderFromAnotherThreadIsPostedToTheLoop) {
  router_.add("GET", "/worker", [](Request&, Responder res) {
    std::thread([res]() mutable { res.send(Response::text(200, "from worker")); }).detach();
  });
  start();
  TestClient c(port_);
  ASSERT_TRUE(c.send(get("/worker") + get("/hello")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "from worker");
  auto r2 = c.readResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "hello you");
}

TEST_F(HttpServerTest, GracefulShutdownWaitsForInFlightRequest) {
  start();
  TestClient idle(port_);
  ASSERT_TRUE(idle.send(get("/hello")));
  ASSERT_TRUE(idle.readResponse());
  TestClient sse(port_);
  ASSERT_TRUE(sse.send(get("/events")));
  ASSERT_TRUE(sse.readUntil("data: line2\n\n"));
  TestClient busy(port_);
  ASSERT_TRUE(busy.send(get("/park/1")));
  ASSERT_TRUE(eventually([&] { return parkedCount_ == 1; }));

  std::atomic<bool> done{false};
  loop_.runSync([&] { server_->shutdown(5000ms, [&] { done = true; }); });
  EXPECT_TRUE(idle.waitClosed(1000ms));
  EXPECT_TRUE(sse.waitClosed(1000ms));
  EXPECT_TRUE(eventually([&] { return sseClosed_ == 1; }));
  TestClient late(port_);  // the listener is gone
  EXPECT_FALSE(late.connected() && late.send(get("/hello")) && late.readResponse(false, 300ms));
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(done);
  answer("1");
  auto r = busy.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "answer 1");
  EXPECT_EQ(r->get("connection"), "close");
  EXPECT_TRUE(busy.waitClosed());
  EXPECT_TRUE(eventually([&] { return done.load(); }));
  EXPECT_EQ(connections(), 0u);
}

TEST_F(HttpServerTest, ShutdownForceClosesAtGraceDeadline) {
  start();
  TestClient busy(port_);
  ASSERT_TRUE(busy.send(get("/park/1")));
  ASSERT_TRUE(eventually([&] { return parkedCount_ == 1; }));
  std::atomic<bool> done{false};
  auto t0 = std::chrono::steady_clock::now();
  loop_.runSync([&] { server_->shutdown(200ms, [&] { done = true; }); });
  EXPECT_TRUE(busy.waitClosed(2000ms));
  EXPECT_TRUE(eventually([&] { return done.load(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 190ms);
  answer("1");  // too late: harmless
}

TEST_F(HttpServerTest, ListensOnIpv6Loopback) {
  HttpServerOptions opts;
  opts.host = "::1";
  loop_.runSync([&] {
    router_.add("GET", "/v6", [](Request& req, Responder res) {
      res.send(Response::text(200, req.remoteAddress));
    });
    server_ = std::make_unique<HttpServer>(loop_.dispatcher(), opts, router_.handler());
    auto r = server_->listen();
    if (!r.ok()) GTEST_SKIP() << "no IPv6 loopback: " << r.error().message;
    port_ = server_->port();
  });
  if (port_ == 0) GTEST_SKIP();
  TestClient c(port_, /*ipv6=*/true);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/v6")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.rfind("[::1]:", 0), 0u) << r->body;
}

TEST_F(HttpServerTest, BadHostIsAnError) {
  HttpServerOptions opts;
  opts.host = "not-an-ip";
  loop_.runSync([&] {
    server_ = std::make_unique<HttpServer>(loop_.dispatcher(), opts, router_.handler());
    auto r = server_->listen();
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "bad_address");
  });
}

}  // namespace
}  // namespace medrelay::net::http
