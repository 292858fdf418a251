#pragma once

// Helpers for ICE tests: Binding requests built with the STUN codec, a loop spinner.

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/dispatcher.h"
#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"

namespace medrelay::test {

struct BindingRequestSpec {
  std::string username;
  std::string password;
  bool integrity = true;
  bool fingerprint = true;
  bool useCandidate = false;
  bool controlling = true;
  bool controlled = false;
  std::optional<uint16_t> extraAttribute;  // e.g. an unknown comprehension-required type
  uint8_t tidSeed = 1;
};

inline std::vector<uint8_t> bindingRequest(const BindingRequestSpec& s) {
  std::vector<uint8_t> buf(512);
  net::stun::StunMessage::TransactionId tid;
  for (size_t i = 0; i < tid.size(); ++i) tid[i] = static_cast<uint8_t>(s.tidSeed + i);
  net::stun::StunBuilder b(buf, net::stun::MessageClass::kRequest, net::stun::method::kBinding,
                           tid);
  if (!s.username.empty()) b.addString(net::stun::attr::kUsername, s.username);
  b.addU32(net::stun::attr::kPriority, 0x6e0001ff);
  if (s.controlling) b.addU64(net::stun::attr::kIceControlling, 0x1122334455667788ull);
  if (s.controlled) b.addU64(net::stun::attr::kIceControlled, 0x1122334455667788ull);
  if (s.useCandidate) b.addEmpty(net::stun::attr::kUseCandidate);
  if (s.extraAttribute) {
    const uint8_t v[4] = {1, 2, 3, 4};
    b.addAttribute(*s.extraAttribute, v);
  }
  if (s.integrity) b.addMessageIntegrity(net::stun::keyBytes(s.password));
  if (s.fingerprint) b.addFingerprint();
  const auto wire = b.finish();
  return wire ? std::vector<uint8_t>(wire->begin(), wire->end()) : std::vector<uint8_t>{};
}

// Runs the loop without blocking until pred() holds or the timeout passes.
inline bool runUntil(net::Dispatcher& d, const std::function<bool()>& pred,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!pred() && std::chrono::steady_clock::now() < end) {
    uv_run(d.loop(), UV_RUN_NOWAIT);
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return pred();
}

}  // namespace medrelay::test
