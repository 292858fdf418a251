#pragma once

#include <llhttp.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "net/http/http_message.h"

namespace medrelay::net::http {

struct RequestLimits {
  size_t maxHeaderBytes = 16 * 1024;  // request line + header section; more -> 431
  size_t maxHeaderCount = 100;        // more fields -> 431
  size_t maxBodyBytes = 1024 * 1024;  // Content-Length or decoded chunked body; more -> 413
};

// Why the parser gave up: the status the server answers with before closing.
struct ParseFailure {
  int status = 400;
  std::string code;     // "bad_request", "header_fields_too_large", "payload_too_large", ...
  std::string message;  // human detail (llhttp's reason for syntax errors)
};

// Incremental HTTP/1.1 request parser over llhttp: bytes in (split anywhere), whole requests out in
// order. Socket-free so the fuzzer drives exactly the code the server runs. Not copyable.
class RequestParser {
 public:
  enum class Phase {
    kIdle,     // between requests
    kHeaders,  // bytes of a request line / header section have arrived
    kBody,     // headers complete, body still arriving
  };
  struct Callbacks {
    // A complete request (headers and body). Called from inside feed().
    std::function<void(Request&&)> onRequest;
    // Headers of a request with "Expect: 100-continue" and a body were accepted (RFC 9110 10.1.1).
    std::function<void()> onExpectContinue;
  };

  RequestParser(RequestLimits limits, Callbacks callbacks);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses bytes, delivering each completed request. Returns false once the parser has stopped:
  // a failure (see failure()), a request that ends the connection (Connection: close, HTTP/1.0
  // without keep-alive, an Upgrade) or stop(). Later bytes are ignored.
  bool feed(std::string_view data);
  // Ignore everything after the current point (e.g. the connection is draining).
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  const std::optional<ParseFailure>& failure() const { return failure_; }
  Phase phase() const { return phase_; }
  // Requests whose first byte has been parsed so far (tells a new header phase from an old one).
  uint64_t messagesBegun() const { return messagesBegun_; }

 private:
  static int onMessageBegin(llhttp_t* p);
  static int onUrl(llhttp_t* p, const char* at, size_t len);
  static int onHeaderField(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValue(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueComplete(llhttp_t* p);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onChunkHeader(llhttp_t* p);
  static int onMessageComplete(llhttp_t* p);
  static const llhttp_settings_t& settings();

  // Bytes of the current header section up to the end of [at, at+len); -1 from the callbacks
  // with failure_ set when it exceeds the limit.
  bool headerBytesOk(const char* at, size_t len);
  int fail(int status, std::string code, std::string message);
  void finishTarget();

  RequestLimits limits_;
  Callbacks callbacks_;
  llhttp_t parser_{};
  Request current_;
  std::string field_;
  std::string value_;
  const char* segmentStart_ = nullptr;  // first byte of the buffer in llhttp_execute now
  size_t headerBytesBefore_ = 0;        // header bytes of this message in earlier buffers
  bool complete_ = false;
  bool stopped_ = false;
  Phase phase_ = Phase::kIdle;
  uint64_t messagesBegun_ = 0;
  std::optional<ParseFailure> failure_;
};

}  // namespace medrelay::net::http
