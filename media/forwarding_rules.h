#pragma once
// Which subscriber may receive which publisher in one room: the control plane's decision
// (docs/policy.md rule 6, the waiting room) as data. The signalling layer computes it whenever it
// changes (a participant is authorized, the patient is admitted) and posts it to the room's
// worker (Router::setForwardingRules); the media plane only looks pairs up when it (re)binds a
// consumer, never per packet, and knows no roles or policy.
#include <set>
#include <string>
#include <utility>

namespace medrelay::media {

class ForwardingRules {
 public:
  // Media of the participant with invite `publisherInvite` may flow to the sessions of
  // `subscriberInvite`.
  void allow(std::string subscriberInvite, std::string publisherInvite) {
    allowed_.emplace(std::move(subscriberInvite), std::move(publisherInvite));
  }
  bool allows(const std::string& subscriberInvite, const std::string& publisherInvite) const {
    return allowed_.count({subscriberInvite, publisherInvite}) != 0;
  }
  size_t size() const { return allowed_.size(); }
  bool operator==(const ForwardingRules&) const = default;

 private:
  std::set<std::pair<std::string, std::string>> allowed_;  // (subscriber, publisher)
};

}  // namespace medrelay::media
