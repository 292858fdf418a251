#include "control/webhook_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>

#include "common/assert.h"
#include "common/logging.h"
#include "control/access_log_reader.h"
#include "net/dispatcher.h"

namespace medrelay::control {
namespace {

constexpr size_t kIngestBatch = 256;
constexpr int kMaxIngestBatches = 8;  // per endpoint and loop turn: stays responsive
constexpr int64_t kIdleWakeUs = 1'000'000;
constexpr size_t kMaxErrorText = 200;

int64_t systemNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t discardBody(char* /*data*/, size_t size, size_t n, void* /*user*/) {
  return size * n;  // the answer's body is not used
}

CURLM* asMulti(void* p) {
  return static_cast<CURLM*>(p);
}

}  // namespace

struct WebhookSender::Transfer {
  CPtr<CURL, curl_easy_cleanup> easy;
  CPtr<curl_slist, curl_slist_free_all> headers;
  std::string body;
  WebhookDelivery delivery;
  char error[CURL_ERROR_SIZE] = {};
};

WebhookSender::WebhookSender(WebhookOptions options, net::Dispatcher& completions)
    : options_(std::move(options)), completions_(completions), rngState_(std::random_device{}()) {
  if (!options_.clock_us) options_.clock_us = systemNowUs;
  if (rngState_ == 0) rngState_ = 0x9E3779B97F4A7C15ull;
}

Result<std::unique_ptr<WebhookSender>> WebhookSender::start(WebhookOptions options,
                                                            net::Dispatcher& completions,
                                                            uint64_t durable_seq) {
  static std::once_flag curl_init;
  std::call_once(curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto sender = std::make_unique<WebhookSender>(std::move(options), completions);
  auto outbox = WebhookOutbox::open(sender->options_.outbox);
  if (!outbox) return outbox.error();
  sender->outbox_ = std::move(outbox.value());
  for (const auto& cfg : sender->options_.endpoints) {
    Endpoint ep;
    ep.config = cfg;
    auto secrets = loadWebhookSecrets(cfg.secret_file);
    if (!secrets) return secrets.error();
    ep.secrets = std::move(secrets.value());
    std::error_code ec;
    ep.secrets_mtime = std::filesystem::last_write_time(cfg.secret_file, ec);
    auto cursor = sender->outbox_->cursor(cfg.url);
    if (!cursor) return cursor.error();
    ep.enqueued = cursor.value();
    sender->endpoints_.push_back(std::move(ep));
  }
  sender->multi_ = curl_multi_init();
  MEDRELAY_ASSERT(sender->multi_ != nullptr, "curl_multi_init");
  sender->durableSeq_ = durable_seq;
  sender->thread_ = std::thread([p = sender.get()] { p->run(); });
  return sender;
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
  for (auto& ep : endpoints_) {
    if (ep.in_flight) curl_multi_remove_handle(asMulti(multi_), ep.in_flight->easy.get());
    ep.in_flight.reset();
  }
  if (multi_ != nullptr) curl_multi_cleanup(asMulti(multi_));
}

void WebhookSender::wake() {
  if (multi_ != nullptr) curl_multi_wakeup(asMulti(multi_));
}

void WebhookSender::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(std::move(fn));
  }
  wake();
}

void WebhookSender::notifyDurable(uint64_t seq) {
  uint64_t cur = durableSeq_.load();
  while (seq > cur && !durableSeq_.compare_exchange_weak(cur, seq)) {
  }
  wake();
}

void WebhookSender::run() {
  for (;;) {
    std::deque<std::function<void()>> commands;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      commands.swap(commands_);
    }
    for (auto& c : commands) c();
    ingest();
    int running = 0;
    curl_multi_perform(asMulti(multi_), &running);
    finishTransfers();
    const int64_t now = options_.clock_us();
    int64_t wake_us = now + kIdleWakeUs;
    startDue(now, wake_us);
    curl_multi_perform(asMulti(multi_), &running);
    updateLag();
    const int timeout_ms =
        static_cast<int>(std::clamp<int64_t>((wake_us - now + 999) / 1000, 0, 1000));
    curl_multi_poll(asMulti(multi_), nullptr, 0, timeout_ms, nullptr);
  }
}

void WebhookSender::ingest() {
  const uint64_t durable = durableSeq_.load();
  AccessLogReader reader(options_.log_dir);
  for (auto& ep : endpoints_) {
    for (int batch = 0; batch < kMaxIngestBatches && ep.enqueued < durable; ++batch) {
      AccessLogQuery q;
      q.after_seq = ep.enqueued;
      q.limit = kIngestBatch;
      auto records = reader.query(q);
      if (!records || records->empty()) break;
      const AccessRecord& last = records->back();
      const ChainHead head{last.seq, last.mac, last.time_us};
      std::vector<WebhookDelivery> rows;
      const int64_t now = options_.clock_us();
      for (const auto& rec : records.value()) {
        if (!options_.events.empty() && options_.events.count(rec.event) == 0) continue;
        WebhookDelivery d;
        d.seq = rec.seq;
        d.event = std::string(toString(rec.event));
        d.message_id = webhookMessageId(rec);
        d.body = webhookBody(rec, head, options_.format);
        d.created_us = now;
        d.next_attempt_us = now;
        rows.push_back(std::move(d));
      }
      if (auto r = outbox_->enqueue(ep.config.url, rows, last.seq); !r) {
        MR_LOG_ERROR(log::get("webhook"), "outbox: {}", r.error().message);
        return;  // tried again on the next turn
      }
      ep.enqueued = last.seq;
    }
  }
}

void WebhookSender::startDue(int64_t now_us, int64_t& wake_us) {
  for (auto& ep : endpoints_) {
    if (ep.in_flight) continue;
    if (ep.wait_until_us > now_us) {
      wake_us = std::min(wake_us, ep.wait_until_us);
      continue;
    }
    auto head = outbox_->head(ep.config.url);
    if (!head) {
      MR_LOG_ERROR(log::get("webhook"), "outbox: {}", head.error().message);
      continue;
    }
    if (!head.value()) continue;
    const WebhookDelivery& d = *head.value();
    if (d.next_attempt_us > now_us) {
      ep.wait_until_us = d.next_attempt_us;
      wake_us = std::min(wake_us, d.next_attempt_us);
      continue;
    }
    startTransfer(ep, d);
  }
}

void WebhookSender::refreshSecrets(Endpoint& ep) {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(ep.config.secret_file, ec);
  if (ec || mtime == ep.secrets_mtime) return;
  auto secrets = loadWebhookSecrets(ep.config.secret_file);
  if (!secrets) {
    // Keep signing with the secrets we have: a half-written file must not stop deliveries.
    MR_LOG_WARN(log::get("webhook"), "secret file not reloaded: {}", secrets.error().message);
    return;
  }
  ep.secrets = std::move(secrets.value());
  ep.secrets_mtime = mtime;
}

void WebhookSender::startTransfer(Endpoint& ep, const WebhookDelivery& d) {
  refreshSecrets(ep);
  auto t = std::make_unique<Transfer>();
  t->easy.reset(curl_easy_init());
  MEDRELAY_ASSERT(t->easy != nullptr, "curl_easy_init");
  t->delivery = d;
  t->body = d.body;
  const int64_t timestamp_s = options_.clock_us() / 1'000'000;
  auto add = [&](const std::string& h) {
    curl_slist* l = curl_slist_append(t->headers.get(), h.c_str());
    MEDRELAY_ASSERT(l != nullptr, "curl_slist_append");
    (void)t->headers.release();
    t->headers.reset(l);
  };
  add("Content-Type: " + std::string(webhookContentType(options_.format)));
  add("webhook-id: " + d.message_id);
  add("webhook-timestamp: " + std::to_string(timestamp_s));
  add("webhook-signature: " + webhookSignature(ep.secrets, d.message_id, timestamp_s, t->body));
  add("Expect:");  // no 100-continue round trip
  CURL* e = t->easy.get();
  curl_easy_setopt(e, CURLOPT_URL, ep.config.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers.get());
  curl_easy_setopt(e, CURLOPT_USERAGENT, "medrelay-webhooks/1");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discardBody);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &ep);
  curl_multi_add_handle(asMulti(multi_), e);
  ep.in_flight = std::move(t);
}

int64_t WebhookSender::backoffUs(uint32_t attempts) {
  // Exponential with "equal jitter": half the step fixed, half random, so endpoints that failed
  // together do not retry together.
  const uint32_t shift = std::min<uint32_t>(attempts > 0 ? attempts - 1 : 0, 30);
  const uint64_t step_ms =
      std::min<uint64_t>(uint64_t{options_.backoff_initial_ms} << shift, options_.backoff_max_ms);
  rngState_ ^= rngState_ << 13;
  rngState_ ^= rngState_ >> 7;
  rngState_ ^= rngState_ << 17;
  const uint64_t half = step_ms * 1000 / 2;
  return static_cast<int64_t>(half + (half > 0 ? rngState_ % (half + 1) : 0));
}

void WebhookSender::finishTransfers() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(asMulti(multi_), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Endpoint* ep = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &ep);
    MEDRELAY_ASSERT(ep != nullptr && ep->in_flight != nullptr, "webhook transfer without owner");
    const CURLcode rc = msg->data.result;
    long status = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(asMulti(multi_), msg->easy_handle);
    auto t = std::move(ep->in_flight);
    const int64_t now = options_.clock_us();
    const WebhookDelivery& d = t->delivery;
    if (rc == CURLE_OK && status >= 200 && status < 300) {
      if (auto r = outbox_->markDelivered(d.id, static_cast<int>(status), now); !r) {
        MR_LOG_ERROR(log::get("webhook"), "outbox: {}", r.error().message);
      }
      ++delivered_;
      continue;
    }
    std::string error = rc != CURLE_OK ? (t->error[0] != 0 ? t->error : curl_easy_strerror(rc))
                                       : "HTTP " + std::to_string(status);
    if (error.size() > kMaxErrorText) error.resize(kMaxErrorText);
    const uint32_t attempts = d.attempts + 1;
    const bool dead = attempts >= options_.max_attempts;
    const int64_t next = dead ? 0 : now + backoffUs(attempts);
    if (auto r = outbox_->markFailed(d.id, attempts, static_cast<int>(status), error, dead, next);
        !r) {
      MR_LOG_ERROR(log::get("webhook"), "outbox: {}", r.error().message);
    }
    ++failures_;
    if (dead) {
      ++deadLetters_;
      MR_LOG_WARN(log::get("webhook"), "delivery {} (seq {}) dead after {} attempts: {}", d.id,
                  d.seq, attempts, error);
    }
    ep->wait_until_us = next;
  }
}

void WebhookSender::updateLag() {
  const uint64_t durable = durableSeq_.load();
  uint64_t lag = 0;
  for (auto& ep : endpoints_) {
    uint64_t through = ep.enqueued;
    if (ep.in_flight) {
      through = std::min(through, ep.in_flight->delivery.seq - 1);
    } else if (auto head = outbox_->head(ep.config.url); head && head.value()) {
      through = std::min(through, head.value()->seq - 1);
    }
    lag = std::max(lag, durable > through ? durable - through : 0);
  }
  lag_ = lag;
  if (auto n = outbox_->pendingCount(); n) pending_ = n.value();
}

void WebhookSender::listDeliveries(DeliveryQuery query, JsonCallback done) {
  post([this, query, done = std::move(done)]() mutable {
    auto rows = outbox_->list(query);
    Result<nlohmann::json> out =
        rows.ok() ? Result<nlohmann::json>(nlohmann::json()) : Result<nlohmann::json>(rows.error());
    if (rows) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& d : rows.value()) list.push_back(toJson(d));
      nlohmann::json body = {{"deliveries", std::move(list)}, {"next_after", nullptr}};
      if (!rows->empty() && rows->size() >= query.limit) body["next_after"] = rows->back().id;
      out = std::move(body);
    }
    completions_.post(
        [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
  });
}

void WebhookSender::replay(int64_t id, JsonCallback done) {
  post([this, id, done = std::move(done)]() mutable {
    auto row = outbox_->replay(id, options_.clock_us());
    Result<nlohmann::json> out = nlohmann::json();
    if (!row) {
      out = row.error();
    } else if (!row.value()) {
      out = makeError("delivery_not_found", "no webhook delivery " + std::to_string(id));
    } else {
      out = toJson(*row.value());
      for (auto& ep : endpoints_) {
        if (ep.config.url == row.value()->endpoint) ep.wait_until_us = 0;
      }
    }
    completions_.post(
        [done = std::move(done), out = std::move(out)]() mutable { done(std::move(out)); });
  });
}

WebhookStats WebhookSender::stats() const {
  WebhookStats s;
  s.delivered = delivered_.load();
  s.failures = failures_.load();
  s.dead_letters = deadLetters_.load();
  s.lag_records = lag_.load();
  s.pending = pending_.load();
  return s;
}

nlohmann::json WebhookSender::toJson(const WebhookDelivery& d) {
  nlohmann::json j = {{"id", d.id},
                      {"endpoint", d.endpoint},
                      {"seq", d.seq},
                      {"event", d.event},
                      {"message_id", d.message_id},
                      {"state", toString(d.state)},
                      {"attempts", d.attempts},
                      {"created", formatTime(d.created_us)}};
  if (d.state == DeliveryState::kPending && d.next_attempt_us > 0) {
    j["next_attempt"] = formatTime(d.next_attempt_us);
  }
  if (d.last_status != 0) j["last_status"] = d.last_status;
  if (!d.last_error.empty()) j["last_error"] = d.last_error;
  if (d.delivered_us != 0) j["delivered"] = formatTime(d.delivered_us);
  return j;
}

}  // namespace medrelay::control
