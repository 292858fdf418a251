#pragma once

// The ICE-lite agent of one session (RFC 8445 §2.5): it never sends checks, it answers the full
// peer's Binding requests (§7.3) with short-term credentials (RFC 8489 §9.1), learns valid pairs
// from the checks that pass, takes the newest USE-CANDIDATE pair as the selected pair, and keeps
// consent (RFC 7675) alive from the peer's periodic checks on that pair.
//
// Packet path: handleStun() writes its response into a caller buffer and allocates nothing.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/dispatcher.h"
#include "net/socket_address.h"
#include "net/stun/stun_message.h"

namespace medrelay::media {

class IceLite {
 public:
  class Callbacks {
   public:
    virtual ~Callbacks() = default;
    // The pair media is sent on changed (first nomination, or the peer nominated another pair).
    virtual void onIceSelectedPairChanged(const net::TransportTuple& tuple) = 0;
    // First nomination: ICE is connected and DTLS can start.
    virtual void onIceConnected() = 0;
    // No valid check on the selected pair for consentTimeout (RFC 7675 §5.1): stop sending.
    virtual void onIceConsentLost() = 0;
  };

  struct Options {
    std::chrono::milliseconds consentTimeout{30000};  // RFC 7675 §5.1
  };

  enum class State : uint8_t { kNew, kConnected, kConsentLost };

  // Why a STUN message did not produce a success response. Sorted; kCount last.
  enum class Reject : uint8_t {
    kBadFingerprint,      // absent or wrong FINGERPRINT (RFC 8445 §7.2.2): silently dropped
    kBadIntegrity,        // 401
    kBadUsername,         // 401
    kConsentLost,         // after consent loss the agent answers nothing until an ICE restart
    kMissingCredentials,  // no USERNAME or MESSAGE-INTEGRITY: 400 (RFC 8489 §9.1.3)
    kNotBindingRequest,   // indications (keepalives), responses, other methods: dropped
    kRoleConflict,        // ICE-CONTROLLED from the peer: 487 (RFC 8445 §7.3.1.1)
    kUnknownAttribute,    // comprehension-required attribute we don't know: 420
    kCount
  };
  static const char* rejectName(Reject r);

  struct Counters {
    uint64_t checksOk = 0;
    uint64_t nominations = 0;
    uint64_t selectedPairChanges = 0;
    uint64_t consentLost = 0;
    std::array<uint64_t, static_cast<size_t>(Reject::kCount)> rejects{};
    uint64_t rejected(Reject r) const { return rejects[static_cast<size_t>(r)]; }
  };

  struct CheckResult {
    bool success = false;
    Reject reject = Reject::kCount;              // set when !success
    std::span<const uint8_t> response;           // empty = send nothing
    bool newValidPair = false;                   // the tuple just became valid
    std::optional<net::TransportTuple> evicted;  // a valid pair forgotten to make room
  };

  static constexpr size_t kMaxValidPairs = 8;
  static constexpr size_t kUfragChars = 8;      // RFC 8445 §5.3: >= 4
  static constexpr size_t kPasswordChars = 24;  // RFC 8445 §5.3: >= 22
  static constexpr size_t kMinResponseBuffer = 256;

  IceLite(net::Dispatcher& dispatcher, Callbacks& callbacks, Options options);
  IceLite(net::Dispatcher& dispatcher, Callbacks& callbacks)
      : IceLite(dispatcher, callbacks, Options()) {}
  IceLite(const IceLite&) = delete;
  IceLite& operator=(const IceLite&) = delete;

  const std::string& localUfrag() const { return localUfrag_; }
  const std::string& localPassword() const { return localPassword_; }
  const std::string& remoteUfrag() const { return remoteUfrag_; }
  // Fixed local credentials instead of the generated ones (tests and the fuzzer only). Call
  // before registering with a WorkerTransport.
  void setLocalCredentials(std::string_view ufrag, std::string_view password) {
    localUfrag_ = ufrag;
    localPassword_ = password;
  }
  // From the peer's SDP (a=ice-ufrag / a=ice-pwd). Empty ufrag = accept any remote part.
  void setRemoteCredentials(std::string_view ufrag, std::string_view password);

  // ICE restart (RFC 8445 §9): new local and remote credentials; valid pairs are reset except the
  // selected one, which carries media until the peer nominates again. The session stays. With a
  // WorkerTransport call WorkerTransport::restartIce instead (it re-keys the demux maps).
  void restart(std::string_view remoteUfrag, std::string_view remotePassword);

  // Processes a STUN message that arrived on `from`. The response (if any) is written into out
  // (at least kMinResponseBuffer bytes) and must be sent back on the same tuple.
  CheckResult handleStun(const net::TransportTuple& from, const net::stun::StunMessage& msg,
                         std::span<uint8_t> out);

  bool isValidPair(const net::TransportTuple& tuple) const;
  std::span<const net::TransportTuple> validPairs() const { return {pairs_.data(), pairCount_}; }
  // Forgets a pair whose transport went away (ICE-TCP connection closed).
  void removePair(const net::TransportTuple& tuple);
  const net::TransportTuple* selectedPair() const { return hasSelected_ ? &selected_ : nullptr; }
  State state() const { return state_; }
  // When a check last succeeded on any valid pair (loop ms; 0: never).
  uint64_t lastCheckMs() const { return lastCheckMs_; }
  const Counters& counters() const { return counters_; }

  // RFC 8445 §5.3 ice-chars (ALPHA / DIGIT / "+" / "/") from RAND_bytes.
  static std::string randomIceString(size_t chars);

 private:
  CheckResult reject(Reject r, uint16_t code, const net::stun::StunMessage& msg,
                     std::span<uint8_t> out, bool withIntegrity,
                     std::span<const uint16_t> unknown = {});
  bool addPair(const net::TransportTuple& tuple, CheckResult& result);
  void select(const net::TransportTuple& tuple);
  void refreshConsent();
  void onConsentTimer();

  net::Dispatcher& dispatcher_;
  Callbacks& callbacks_;
  Options options_;
  std::string localUfrag_;
  std::string localPassword_;
  std::string remoteUfrag_;
  std::string remotePassword_;
  State state_ = State::kNew;
  std::array<net::TransportTuple, kMaxValidPairs> pairs_{};
  std::array<uint64_t, kMaxValidPairs> pairLastCheckMs_{};
  size_t pairCount_ = 0;
  net::TransportTuple selected_;
  bool hasSelected_ = false;
  net::Timer consentTimer_;
  uint64_t lastCheckMs_ = 0;
  Counters counters_;
};

}  // namespace medrelay::media
