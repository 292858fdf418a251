#include "control/cluster/redis_client.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <fstream>

#include "common/logging.h"

namespace medrelay::control::cluster {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  return log::get("cluster");
}

Error unavailable(const std::string& why) {
  return makeError(kClusterUnavailable, "the cluster store is unreachable: " + why);
}

RedisReply copyReply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copyReply(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

std::string sha1Hex(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace

Result<RedisAddress> RedisAddress::parse(const std::string& text) {
  RedisAddress a;
  if (text.rfind("unix:", 0) == 0) {
    a.unix_path = text.substr(5);
    if (a.unix_path.empty() || a.unix_path[0] != '/') {
      return makeError("config", "expected unix:/absolute/path");
    }
    return a;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return makeError("config", "expected host:port or unix:/path");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return makeError("config", "expected host:port or unix:/path");
  unsigned port = 0;
  const std::string p = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535) {
    return makeError("config", "port must be 1-65535");
  }
  a.host = host;
  a.port = static_cast<uint16_t>(port);
  return a;
}

std::string RedisAddress::toString() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

int64_t RedisReply::asInt() const {
  if (type == Type::kInteger) return integer;
  int64_t v = 0;
  std::from_chars(str.data(), str.data() + str.size(), v);
  return v;
}

RedisScript::RedisScript(std::string text) : source(std::move(text)), sha1(sha1Hex(source)) {}

RedisClient::RedisClient(net::Dispatcher& dispatcher, RedisClientOptions options)
    : dispatcher_(dispatcher),
      options_(std::move(options)),
      deadlineTimer_(dispatcher, [this] { checkDeadlines(); }),
      reconnectTimer_(dispatcher, [this] { connect(); }) {}

RedisClient::~RedisClient() {
  stop();
}

void RedisClient::start() {
  if (state_ != State::kStopped) return;
  const auto tick = std::max(std::chrono::milliseconds(10), options_.command_timeout / 5);
  deadlineTimer_.start(tick, tick);
  connect();
}

void RedisClient::stop() {
  if (state_ == State::kStopped) return;
  fail("stopped");
  state_ = State::kStopped;
  deadlineTimer_.stop();
  reconnectTimer_.stop();
}

void RedisClient::connect() {
  const RedisAddress& a = options_.address;
  redisAsyncContext* ctx = a.unix_path.empty() ? redisAsyncConnect(a.host.c_str(), a.port)
                                               : redisAsyncConnectUnix(a.unix_path.c_str());
  if (ctx == nullptr) {
    scheduleReconnect();
    return;
  }
  if (ctx->err != 0) {
    MR_LOG_DEBUG(logger(), "redis {}: {}", a.toString(), ctx->errstr);
    redisAsyncFree(ctx);
    scheduleReconnect();
    return;
  }
  if (redisLibuvAttach(ctx, dispatcher_.loop()) != REDIS_OK) {
    redisAsyncFree(ctx);
    scheduleReconnect();
    return;
  }
  ctx->data = this;
  redisAsyncSetConnectCallback(ctx, &RedisClient::connectCallback);
  redisAsyncSetDisconnectCallback(ctx, &RedisClient::disconnectCallback);
  ctx_ = ctx;
  state_ = State::kConnecting;
  // The connect itself has the command deadline too (checkDeadlines).
  Pending p;
  p.id = 0;
  p.sent = std::chrono::steady_clock::now();
  p.deadline = p.sent + options_.command_timeout;
  pending_[0] = std::move(p);
}

void RedisClient::connectCallback(const redisAsyncContext* ctx, int status) {
  auto* self = static_cast<RedisClient*>(ctx->data);
  if (self == nullptr || self->ctx_ != ctx) return;
  self->onConnected(status == REDIS_OK, ctx->errstr);
}

void RedisClient::disconnectCallback(const redisAsyncContext* ctx, int status) {
  (void)status;
  auto* self = static_cast<RedisClient*>(ctx->data);
  if (self == nullptr || self->ctx_ != ctx) return;  // fail() freed it on purpose
  self->onDisconnected(ctx->err != 0 ? ctx->errstr : "closed by the server");
}

void RedisClient::onConnected(bool ok, const std::string& why) {
  pending_.erase(0);
  if (!ok) {
    // hiredis frees the context after this callback.
    ctx_ = nullptr;
    MR_LOG_DEBUG(logger(), "redis {}: connect failed: {}", options_.address.toString(), why);
    scheduleReconnect();
    return;
  }
  if (options_.password.empty()) {
    setUp(true);
    return;
  }
  state_ = State::kAuthenticating;
  std::vector<std::string> auth = {"AUTH"};
  if (!options_.user.empty()) auth.push_back(options_.user);
  auth.push_back(options_.password);
  std::weak_ptr<char> alive = alive_;
  send(
      auth,
      [this, alive](Result<RedisReply> r) {
        if (alive.expired() || state_ != State::kAuthenticating) return;
        if (!r.ok()) {
          MR_LOG_ERROR(logger(), "redis {}: AUTH refused: {}", options_.address.toString(),
                       r.error().message);
          fail("AUTH refused");
          return;
        }
        setUp(true);
      },
      true);
}

void RedisClient::onDisconnected(const std::string& why) {
  // hiredis frees the context after this callback and has failed its pending commands.
  ctx_ = nullptr;
  MR_LOG_WARN(logger(), "redis {}: connection lost: {}", options_.address.toString(), why);
  pending_.erase(0);
  for (auto& [id, p] : pending_) answerLater(std::move(p.done), unavailable(why));
  pending_.clear();
  setUp(false);
  scheduleReconnect();
}

void RedisClient::fail(const std::string& why) {
  redisAsyncContext* ctx = ctx_;
  ctx_ = nullptr;
  if (ctx != nullptr) {
    ctx->data = nullptr;
    redisAsyncFree(ctx);  // runs the pending callbacks with no reply: they find nothing
  }
  pending_.erase(0);
  for (auto& [id, p] : pending_) answerLater(std::move(p.done), unavailable(why));
  pending_.clear();
  if (state_ == State::kStopped) return;
  setUp(false);
  scheduleReconnect();
}

void RedisClient::scheduleReconnect() {
  if (state_ == State::kStopped) return;
  state_ = State::kWaiting;
  backoff_ = backoff_.count() == 0 ? options_.reconnect_min
                                   : std::min(options_.reconnect_max, backoff_ * 2);
  reconnectTimer_.start(backoff_);
}

void RedisClient::setUp(bool up) {
  const bool was = state_ == State::kUp;
  if (up) {
    state_ = State::kUp;
    backoff_ = std::chrono::milliseconds(0);
  } else if (state_ == State::kUp) {
    state_ = State::kWaiting;
  }
  if (was != up) {
    if (up) {
      MR_LOG_INFO(logger(), "redis {}: connected", options_.address.toString());
    }
    if (stateObserver_) stateObserver_(up);
  }
}

void RedisClient::checkDeadlines() {
  if (pending_.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [id, p] : pending_) {
    if (p.deadline <= now) {
      if (latencyObserver_ && id != 0) {
        latencyObserver_(std::chrono::duration<double>(now - p.sent).count(), false);
      }
      MR_LOG_WARN(logger(), "redis {}: {} timed out after {} ms", options_.address.toString(),
                  id == 0 ? "connect" : "a command", options_.command_timeout.count());
      fail("timeout");
      return;
    }
  }
}

void RedisClient::answerLater(Done done, Result<RedisReply> result) {
  if (!done) return;
  dispatcher_.post(
      [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
}

void RedisClient::command(std::vector<std::string> args, Done done) {
  send(args, std::move(done), false);
}

void RedisClient::send(const std::vector<std::string>& args, Done done, bool internal) {
  const bool usable = state_ == State::kUp || (internal && state_ == State::kAuthenticating);
  if (!usable || ctx_ == nullptr) {
    answerLater(std::move(done), unavailable("not connected"));
    return;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  const uint64_t id = nextId_++;
  // The pending id travels as hiredis privdata; the client is the context's data.
  void* privdata = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  if (redisAsyncCommandArgv(ctx_, &RedisClient::replyCallback, privdata,
                            static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
    answerLater(std::move(done), unavailable("the connection is closing"));
    return;
  }
  Pending p;
  p.id = id;
  p.done = std::move(done);
  p.sent = std::chrono::steady_clock::now();
  p.deadline = p.sent + options_.command_timeout;
  pending_[id] = std::move(p);
}

void RedisClient::replyCallback(redisAsyncContext* ctx, void* reply, void* privdata) {
  auto* self = static_cast<RedisClient*>(ctx->data);
  if (self == nullptr) return;  // being freed by fail(): the pending list was answered there
  self->onReply(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(privdata)),
                static_cast<redisReply*>(reply));
}

void RedisClient::onReply(uint64_t id, redisReply* reply) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (reply == nullptr) {
    answerLater(std::move(p.done), unavailable("connection closed"));
    return;
  }
  if (latencyObserver_) {
    latencyObserver_(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - p.sent).count(), true);
  }
  RedisReply r = copyReply(reply);
  if (r.isError()) {
    answerLater(std::move(p.done), makeError("redis_error", r.str));
    return;
  }
  answerLater(std::move(p.done), std::move(r));
}

void RedisClient::eval(const RedisScript& script, const std::vector<std::string>& keys,
                       const std::vector<std::string>& args, Done done) {
  auto tail = std::make_shared<std::vector<std::string>>();
  tail->push_back(std::to_string(keys.size()));
  tail->insert(tail->end(), keys.begin(), keys.end());
  tail->insert(tail->end(), args.begin(), args.end());
  std::vector<std::string> evalsha = {"EVALSHA", script.sha1};
  evalsha.insert(evalsha.end(), tail->begin(), tail->end());
  std::weak_ptr<char> alive = alive_;
  command(std::move(evalsha), [this, alive, source = script.source, tail,
                               done = std::move(done)](Result<RedisReply> r) mutable {
    if (alive.expired()) return;
    if (!r.ok() && r.error().code == "redis_error" && r.error().message.rfind("NOSCRIPT", 0) == 0) {
      std::vector<std::string> evalArgs = {"EVAL", source};
      evalArgs.insert(evalArgs.end(), tail->begin(), tail->end());
      command(std::move(evalArgs), std::move(done));
      return;
    }
    done(std::move(r));
  });
}

Result<std::string> readSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError("config", path + ": cannot read");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.empty()) return makeError("config", path + ": empty");
  return line;
}

}  // namespace medrelay::control::cluster
