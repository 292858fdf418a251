#pragma once

// TURN REST-style ephemeral credentials (draft-uberti-behave-turn-rest, as coturn's
// use-auth-secret): username "expiry:invite-id" (expiry in Unix seconds), password
// base64(HMAC-SHA1(secret, username)). The long-term key is then MD5(username:realm:password)
// (RFC 8489 §9.2.2). Several secrets may be live at once for rotation: the first mints, every
// one verifies. Also the stateless nonce (RFC 8489 §9.2.2: "the server MAY encode" state in it).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace medrelay::net::turn {

struct TurnCredentials {
  std::string username;
  std::string password;
  uint32_t ttlSeconds = 0;
  std::vector<std::string> uris;  // "turn:host:port?transport=udp", "turns:host:443?transport=tcp"
};

// Mints credentials for an invite valid until expiresAtUnix (the invite's window end). The
// ttl is counted from nowUnix (0 when already expired).
TurnCredentials mintTurnCredentials(std::string_view inviteId, int64_t expiresAtUnix,
                                    std::string_view secret, std::vector<std::string> uris,
                                    int64_t nowUnix);
TurnCredentials mintTurnCredentials(std::string_view inviteId, int64_t expiresAtUnix,
                                    std::string_view secret, std::vector<std::string> uris = {});

// The WHIP/WHEP Link header value (RFC 9725 §4.6), one link per URI, comma-separated:
// <turn:host:port?transport=udp>; rel="ice-server"; username="..."; credential="...";
// credential-type="password"
std::string formatIceServerLinks(const TurnCredentials& c);

// base64(HMAC-SHA1(secret, username)).
std::string restPassword(std::string_view secret, std::string_view username);

struct RestUsername {
  int64_t expiry = 0;
  std::string_view inviteId;  // borrows the username
};
// "1700000000:invite" → {1700000000, "invite"}; nullopt when malformed.
std::optional<RestUsername> parseRestUsername(std::string_view username);

// The control plane tells TURN whether an invite is still live (not revoked, room not
// cancelled, window not over). Implemented by the control plane; the TURN server asks it on
// every authenticated request, on the TURN thread (so it must be cheap and thread-safe).
class InviteLiveness {
 public:
  virtual ~InviteLiveness() = default;
  virtual bool isLive(std::string_view inviteId) = 0;
};

// Stateless nonce: 4 bytes of issue time (seconds) and a 9-byte HMAC-SHA256 truncation over
// (time, client IP) under a per-process key, base64url (20 characters). No server state.
class NonceCodec {
 public:
  static constexpr size_t kNonceChars = 20;
  explicit NonceCodec(uint32_t lifetimeSeconds = 3600);  // random key
  NonceCodec(std::span<const uint8_t> key, uint32_t lifetimeSeconds);

  // Writes the nonce for clientIp at nowSeconds into out.
  void make(std::span<const uint8_t> clientIp, uint64_t nowSeconds,
            std::array<char, kNonceChars>& out) const;
  enum class Check : uint8_t { kValid, kStale, kInvalid };
  Check check(std::string_view nonce, std::span<const uint8_t> clientIp, uint64_t nowSeconds) const;

 private:
  std::array<uint8_t, 32> key_{};
  uint32_t lifetime_;
};

}  // namespace medrelay::net::turn
