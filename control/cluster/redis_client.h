#pragma once
// An asynchronous Redis client on the control thread's libuv loop: hiredis 0.14's async context
// with its libuv adapter (docs/cluster.md "The Redis connection"). Every command has a deadline;
// a command that misses it drops the connection (every pending command fails with
// `cluster_unavailable`) and the client reconnects with backoff. Nothing is queued while the
// connection is down: callers get `cluster_unavailable` at once and decide (a join answers 503
// with Retry-After, a heartbeat tries again on its next beat). Media workers never touch it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "net/dispatcher.h"

struct redisAsyncContext;
struct redisReply;

namespace medrelay::control::cluster {

inline constexpr const char* kClusterUnavailable = "cluster_unavailable";

// Where Redis listens: "host:port", "[v6]:port" or "unix:/path/to/redis.sock".
struct RedisAddress {
  std::string host;
  uint16_t port = 0;
  std::string unix_path;

  static Result<RedisAddress> parse(const std::string& text);
  std::string toString() const;
};

// A RESP reply copied out of hiredis.
struct RedisReply {
  enum class Type : uint8_t { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // string, status and error replies
  std::vector<RedisReply> elements;

  bool isError() const { return type == Type::kError; }
  // The integer, or a string holding one (Lua numbers come back as integers).
  int64_t asInt() const;
};

// A Lua script run with EVALSHA; its SHA-1 is computed here, and a NOSCRIPT answer (a restarted
// or flushed Redis) is retried once with EVAL, which loads it again.
struct RedisScript {
  explicit RedisScript(std::string source);
  std::string source;
  std::string sha1;  // lowercase hex
};

struct RedisClientOptions {
  RedisAddress address;
  std::string user;      // ACL user; empty: AUTH with the password only (requirepass)
  std::string password;  // empty: no AUTH
  std::chrono::milliseconds command_timeout{1000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{2000};
};

class RedisClient {
 public:
  using Done = std::function<void(Result<RedisReply>)>;

  RedisClient(net::Dispatcher& dispatcher, RedisClientOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects, and reconnects whenever the connection drops, until stop().
  void start();
  // Fails every pending command and closes the connection.
  void stop();
  // Connected and authenticated.
  bool up() const { return state_ == State::kUp; }

  // An error reply is a Result error with code `redis_error`; no connection or a timeout is
  // `cluster_unavailable`. `done` runs on the control loop, never inside this call.
  void command(std::vector<std::string> args, Done done);
  void eval(const RedisScript& script, const std::vector<std::string>& keys,
            const std::vector<std::string>& args, Done done);

  // Told when the connection comes up (true) or goes down (false).
  void setStateObserver(std::function<void(bool up)> observer) {
    stateObserver_ = std::move(observer);
  }
  // Told every command's round trip (seconds) and whether it got an answer.
  void setLatencyObserver(std::function<void(double seconds, bool answered)> observer) {
    latencyObserver_ = std::move(observer);
  }

 private:
  enum class State : uint8_t { kStopped, kConnecting, kAuthenticating, kUp, kWaiting };
  struct Pending {
    uint64_t id = 0;
    Done done;
    std::chrono::steady_clock::time_point sent;
    std::chrono::steady_clock::time_point deadline;
  };
  struct Call;  // hiredis privdata: the client and the pending id

  void connect();
  void send(const std::vector<std::string>& args, Done done, bool internal);
  void onReply(uint64_t id, redisReply* reply);
  void onConnected(bool ok, const std::string& why);
  void onDisconnected(const std::string& why);
  // Drops the connection: pending commands fail; a reconnect is scheduled.
  void fail(const std::string& why);
  void scheduleReconnect();
  void checkDeadlines();
  void setUp(bool up);
  // Runs `done` with `result` on a later loop iteration.
  void answerLater(Done done, Result<RedisReply> result);

  static void connectCallback(const redisAsyncContext* ctx, int status);
  static void disconnectCallback(const redisAsyncContext* ctx, int status);
  static void replyCallback(redisAsyncContext* ctx, void* reply, void* privdata);

  net::Dispatcher& dispatcher_;
  RedisClientOptions options_;
  redisAsyncContext* ctx_ = nullptr;  // owned by hiredis once connecting; freed by fail()
  State state_ = State::kStopped;
  uint64_t nextId_ = 1;
  std::map<uint64_t, Pending> pending_;
  std::chrono::milliseconds backoff_{0};
  net::Timer deadlineTimer_;
  net::Timer reconnectTimer_;
  std::function<void(bool)> stateObserver_;
  std::function<void(double, bool)> latencyObserver_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

// The Redis password from a file (first line, without its line end); an error names the file.
Result<std::string> readSecretFile(const std::string& path);

}  // namespace medrelay::control::cluster
