#pragma once
// The consultation chat's JSON envelope (docs/api/data-channels.md). A participant sends
//   {"type":"chat","id":"<client message id>","text":"<text>"}
// on its `chat` channel; the relay checks it and delivers
//   {"type":"chat","from":"<role>","id":"<client message id>","text":"<text>"}
// to everyone the consultation policy lets receive the sender (the sender label is the role,
// never a subject or a name). The relay's own notices are {"type":"system","notice":"<code>"}.
// The relay never keeps or logs the text.
#include <cstddef>
#include <string>
#include <string_view>

namespace medrelay::media::chat {

inline constexpr std::string_view kLabel = "chat";
// A chat channel both sides agreed on out of band (RFC 8831 §6.5, negotiated: true).
inline constexpr uint16_t kNegotiatedStream = 1000;
inline constexpr size_t kMaxIdLength = 64;

// Checks one message from a participant and writes the envelope its receivers get into `out`
// (reused between calls). False if it is not exactly a chat envelope: a JSON object with
// "type":"chat", an "id" string of 1..kMaxIdLength characters and a "text" string, nothing else.
bool rewrite(std::string_view in, std::string_view fromRole, std::string& out);

// {"type":"system","notice":"<notice>"} (notice: a fixed code such as "rate_limited").
std::string systemNotice(std::string_view notice);

}  // namespace medrelay::media::chat
