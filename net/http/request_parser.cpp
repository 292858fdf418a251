#include "net/http/request_parser.h"

namespace medrelay::net::http {

namespace {

RequestParser& self(llhttp_t* p) {
  return *static_cast<RequestParser*>(p->data);
}

}  // namespace

const llhttp_settings_t& RequestParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t x;
    llhttp_settings_init(&x);
    x.on_message_begin = &RequestParser::onMessageBegin;
    x.on_url = &RequestParser::onUrl;
    x.on_header_field = &RequestParser::onHeaderField;
    x.on_header_value = &RequestParser::onHeaderValue;
    x.on_header_value_complete = &RequestParser::onHeaderValueComplete;
    x.on_headers_complete = &RequestParser::onHeadersComplete;
    x.on_body = &RequestParser::onBody;
    x.on_chunk_header = &RequestParser::onChunkHeader;
    x.on_message_complete = &RequestParser::onMessageComplete;
    return x;
  }();
  return s;
}

RequestParser::RequestParser(RequestLimits limits, Callbacks callbacks)
    : limits_(limits), callbacks_(std::move(callbacks)) {
  llhttp_init(&parser_, HTTP_REQUEST, &settings());
  parser_.data = this;
}

bool RequestParser::feed(std::string_view data) {
  if (stopped_) return false;
  if (!data.empty() && phase_ == Phase::kIdle) phase_ = Phase::kHeaders;
  size_t off = 0;
  while (off < data.size() && !stopped_) {
    const char* seg = data.data() + off;
    size_t len = data.size() - off;
    segmentStart_ = seg;
    llhttp_errno_t err = llhttp_execute(&parser_, seg, len);
    if (err == HPE_OK) {
      if (phase_ == Phase::kHeaders) {
        headerBytesBefore_ += len;
        if (headerBytesBefore_ > limits_.maxHeaderBytes) {
          fail(431, "header_fields_too_large", "request header section too large");
          stopped_ = true;
        }
      }
      break;
    }
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
      const char* pos = llhttp_get_error_pos(&parser_);
      size_t used = (pos != nullptr && pos >= seg && pos <= seg + len) ? size_t(pos - seg) : len;
      off += used;
      if (err == HPE_PAUSED) llhttp_resume(&parser_);
      if (complete_) {
        complete_ = false;
        phase_ = Phase::kIdle;
        Request req = std::move(current_);
        current_ = Request{};
        // Nothing after an Upgrade or a connection-ending request is HTTP we will answer.
        if (err == HPE_PAUSED_UPGRADE || !req.keepAlive) {
          req.keepAlive = false;
          stopped_ = true;
        }
        if (callbacks_.onRequest) callbacks_.onRequest(std::move(req));
      } else if (err == HPE_PAUSED_UPGRADE) {
        stopped_ = true;
      }
      continue;
    }
    if (!failure_) {
      const char* reason = llhttp_get_error_reason(&parser_);
      fail(400, "bad_request", reason != nullptr ? reason : llhttp_errno_name(err));
    }
    stopped_ = true;
  }
  return !stopped_;
}

int RequestParser::fail(int status, std::string code, std::string message) {
  if (!failure_) failure_ = ParseFailure{status, std::move(code), std::move(message)};
  return -1;
}

bool RequestParser::headerBytesOk(const char* at, size_t len) {
  size_t inSegment = static_cast<size_t>(at - segmentStart_) + len;
  return headerBytesBefore_ + inSegment <= limits_.maxHeaderBytes;
}

int RequestParser::onMessageBegin(llhttp_t* p) {
  auto& s = self(p);
  s.current_ = Request{};
  s.field_.clear();
  s.value_.clear();
  s.headerBytesBefore_ = 0;
  s.phase_ = Phase::kHeaders;
  ++s.messagesBegun_;
  return 0;
}

int RequestParser::onUrl(llhttp_t* p, const char* at, size_t len) {
  auto& s = self(p);
  if (!s.headerBytesOk(at, len))
    return s.fail(431, "header_fields_too_large", "request line too long");
  s.current_.target.append(at, len);
  return 0;
}

int RequestParser::onHeaderField(llhttp_t* p, const char* at, size_t len) {
  auto& s = self(p);
  if (!s.headerBytesOk(at, len)) {
    return s.fail(431, "header_fields_too_large", "request header section too large");
  }
  s.field_.append(at, len);
  return 0;
}

int RequestParser::onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  auto& s = self(p);
  if (!s.headerBytesOk(at, len)) {
    return s.fail(431, "header_fields_too_large", "request header section too large");
  }
  s.value_.append(at, len);
  return 0;
}

int RequestParser::onHeaderValueComplete(llhttp_t* p) {
  auto& s = self(p);
  if (s.current_.headers.size() >= s.limits_.maxHeaderCount) {
    return s.fail(431, "header_fields_too_large", "too many header fields");
  }
  // llhttp hands the value with leading whitespace removed; trailing OWS is ours to strip.
  while (!s.value_.empty() && (s.value_.back() == ' ' || s.value_.back() == '\t')) {
    s.value_.pop_back();
  }
  s.current_.headers.add(std::move(s.field_), std::move(s.value_));
  s.field_.clear();
  s.value_.clear();
  return 0;
}

void RequestParser::finishTarget() {
  std::string_view t = current_.target;
  // Absolute form (RFC 9112 3.2.2): keep only the path and query.
  if (!t.empty() && t.front() != '/' && t != "*") {
    size_t scheme = t.find("://");
    if (scheme != std::string_view::npos) {
      size_t slash = t.find_first_of("/?", scheme + 3);
      t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
    }
  }
  size_t hash = t.find('#');
  if (hash != std::string_view::npos) t = t.substr(0, hash);
  size_t q = t.find('?');
  current_.path = std::string(t.substr(0, q));
  if (current_.path.empty()) current_.path = "/";
  current_.rawQuery = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
}

int RequestParser::onHeadersComplete(llhttp_t* p) {
  auto& s = self(p);
  Request& r = s.current_;
  r.method = llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(p)));
  if (llhttp_get_http_major(p) != 1) {
    return s.fail(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
  }
  r.httpMinor = llhttp_get_http_minor(p);
  // RFC 9112 3.2: a 1.1 request without exactly one Host field is a 400.
  if (r.httpMinor >= 1) {
    int hosts = 0;
    for (const auto& f : r.headers.all()) hosts += equalsIgnoreCase(f.first, "host") ? 1 : 0;
    if (hosts != 1) return s.fail(400, "bad_request", "HTTP/1.1 request needs one Host field");
  }
  s.finishTarget();
  bool chunked = (p->flags & F_CHUNKED) != 0;
  bool hasLength = (p->flags & F_CONTENT_LENGTH) != 0;
  if (hasLength && p->content_length > s.limits_.maxBodyBytes) {
    return s.fail(413, "payload_too_large", "request body exceeds the limit");
  }
  bool hasBody = chunked || (hasLength && p->content_length > 0);
  if (hasBody) {
    s.phase_ = Phase::kBody;
    auto expect = r.headers.get("expect");
    if (expect && equalsIgnoreCase(*expect, "100-continue") && r.httpMinor >= 1 &&
        s.callbacks_.onExpectContinue) {
      s.callbacks_.onExpectContinue();
    }
  }
  return 0;
}

int RequestParser::onBody(llhttp_t* p, const char* at, size_t len) {
  auto& s = self(p);
  if (s.current_.body.size() + len > s.limits_.maxBodyBytes) {
    return s.fail(413, "payload_too_large", "request body exceeds the limit");
  }
  s.current_.body.append(at, len);
  return 0;
}

int RequestParser::onChunkHeader(llhttp_t* p) {
  auto& s = self(p);
  // Refuse a chunk that would cross the limit before reading it (content_length = chunk size).
  if (p->content_length > s.limits_.maxBodyBytes - s.current_.body.size()) {
    return s.fail(413, "payload_too_large", "request body exceeds the limit");
  }
  return 0;
}

int RequestParser::onMessageComplete(llhttp_t* p) {
  auto& s = self(p);
  s.current_.keepAlive = llhttp_should_keep_alive(p) != 0;
  s.complete_ = true;
  return HPE_PAUSED;
}

}  // namespace medrelay::net::http
