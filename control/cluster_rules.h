#pragma once

#include <functional>
#include <string>

#include "common/result.h"

namespace medrelay::control {

// What the ConsultationService asks the cluster, when there is one (docs/cluster.md): the
// cluster-wide half of policy rule 3 and the registration of new rooms. Implemented by
// cluster::ClusterNode over Redis; a single node has none and the service's local checks are the
// whole rule. Called and answered on the control thread.
class ClusterRules {
 public:
  virtual ~ClusterRules() = default;

  // A doctor seat's holder goes live in `room_id`: takes (or renews) the subject's cluster-wide
  // lease. Answers success, `doctor_busy` with the room that holds the lease in `other_room`
  // (for the access log: the backend's eyes only), or `cluster_unavailable`.
  using LeaseDone = std::function<void(Result<void> result, const std::string& other_room)>;
  virtual void acquireDoctor(const std::string& subject, const std::string& room_id,
                             LeaseDone done) = 0;
  // The subject has no doctor-seat session left in `room_id` on this node.
  virtual void releaseDoctor(const std::string& subject, const std::string& room_id) = 0;
  // A room was created here: its records live on this node (its home). `done` runs once Redis
  // knows (or could not be told: the room is still placed here at its first local join).
  virtual void roomCreated(const std::string& room_id, std::function<void()> done) = 0;
};

}  // namespace medrelay::control
