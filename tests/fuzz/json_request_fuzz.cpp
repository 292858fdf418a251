// Fuzzes the REST request parsers: the first byte picks the parser, the rest is the JSON body.
// Every input must either parse into a request that satisfies the documented bounds or be
// refused with a 400/422 code; nothing may crash.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "control/consultation_requests.h"
#include "control/policy.h"

using namespace medrelay::control;

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

void checkRefusal(const medrelay::Error& e) {
  const int status = policyStatus(e.code);
  check(status == 400 || status == 422);
  check(e.message.size() < 512);  // never echoes a whole input back
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t which = data[0] % 3;
  const auto body = nlohmann::json::parse(data + 1, data + size, nullptr, false);
  if (body.is_discarded()) return 0;
  if (which == 0) {
    auto r = parseCreateRoom(body);
    if (!r.ok()) {
      checkRefusal(r.error());
    } else {
      check(r->title.size() <= kMaxTitleBytes && r->doctor_display_name.size() <= kMaxNameBytes);
      check(!r->doctor_display_name.empty() && !r->institution_id.empty());
      check(validateId("institution_id", r->institution_id).ok());
      if (r->opens_at_us && r->closes_at_us) check(*r->opens_at_us < *r->closes_at_us);
    }
  } else if (which == 1) {
    auto r = parsePatchRoom(body);
    if (!r.ok()) {
      checkRefusal(r.error());
    } else {
      check(r->title || r->doctor_display_name);
      if (r->doctor_display_name) check(!r->doctor_display_name->empty());
    }
  } else {
    auto r = parseCreateInvite(body);
    if (!r.ok()) {
      checkRefusal(r.error());
    } else {
      check(validateId("subject", r->subject).ok());
      if (r->consent) check(r->consent->role == r->role);
    }
  }
  return 0;
}
