#include "control/metrics/policy_metrics.h"

#include "control/metrics/buckets.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {

PolicyMetrics::PolicyMetrics(prometheus::Registry& registry) {
  consultations_ended_ = &prometheus::BuildCounter()
                              .Name("medrelay_consultations_ended_total")
                              .Help("Consultations ended (after admission).")
                              .Register(registry)
                              .Add({});
  consultations_started_ = &prometheus::BuildCounter()
                                .Name("medrelay_consultations_started_total")
                                .Help("Consultations started: the patient was admitted.")
                                .Register(registry)
                                .Add({});
  join_duration_ = &prometheus::BuildHistogram()
                        .Name("medrelay_join_duration_seconds")
                        .Help("Time from an accepted WHIP/WHEP offer to DTLS connected.")
                        .Register(registry)
                        .Add({}, buckets::kJoinSeconds);
  join_refusals_ = resolveAll<JoinRefusal>(prometheus::BuildCounter()
                                               .Name("medrelay_join_refusals_total")
                                               .Help("Joins refused by the policy, by reason.")
                                               .Register(registry),
                                           {});
  participants_ = resolveAll<Role>(prometheus::BuildGauge()
                                       .Name("medrelay_participants_connected")
                                       .Help("Participant sessions with media connected, by role.")
                                       .Register(registry),
                                   {});
  rooms_ = resolveAll<RoomState>(prometheus::BuildGauge()
                                     .Name("medrelay_rooms")
                                     .Help("Rooms held by the store, by state.")
                                     .Register(registry),
                                 {});
  sessions_ended_ = resolveAll<SessionEndReason>(
      prometheus::BuildCounter()
          .Name("medrelay_sessions_ended_total")
          .Help("Participant sessions ended, by reason (the access log's end reasons).")
          .Register(registry),
      {});
}

}  // namespace medrelay::metrics
