#include "control/metrics/policy_metrics.h"

#include "control/metrics/buckets.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {

PolicyMetrics::PolicyMetrics(prometheus::Registry& registry) {
  api_auth_failures_ = resolveAll<ApiAuthFailure>(
      prometheus::BuildCounter()
          .Name("medrelay_api_auth_failures_total")
          .Help("Backend (API-key) requests refused and recorded in the access log, by reason.")
          .Register(registry),
      {});
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
  auto& refusals = prometheus::BuildCounter()
                       .Name("medrelay_join_refusals_total")
                       .Help("Joins refused by the policy, by reason and invited role.")
                       .Register(registry);
  for (size_t i = 0; i < join_refusals_.size(); ++i) {
    join_refusals_.at(i) =
        resolveAll<Role>(refusals, {{"reason", std::string(LabelTraits<JoinRefusal>::kValues[i])}});
  }
  auto& bitrate = prometheus::BuildHistogram()
                      .Name("medrelay_link_media_bytes_per_second")
                      .Help(
                          "Sessions' media rate per 2 s report, by role; direction in = "
                          "received from a publisher, out = sent to a subscriber.")
                      .Register(registry);
  auto& loss = prometheus::BuildHistogram()
                   .Name("medrelay_link_loss_ratio")
                   .Help(
                       "Sessions' fraction of packets lost per 2 s report (RFC 3550 receiver "
                       "reports), by role and direction.")
                   .Register(registry);
  for (size_t i = 0; i < link_bitrate_.size(); ++i) {
    const prometheus::Labels base = {{"role", std::string(LabelTraits<Role>::kValues[i])}};
    link_bitrate_.at(i) = resolveAll<Direction>(bitrate, base, buckets::kLinkBytesPerSecond);
    link_loss_.at(i) = resolveAll<Direction>(loss, base, buckets::kLinkLossRatio);
  }
  link_rtt_ = resolveAll<Role>(prometheus::BuildHistogram()
                                   .Name("medrelay_link_rtt_seconds")
                                   .Help("Round trip to subscribers from their receiver reports "
                                         "(RFC 3550 section 6.4.1) per 2 s report, by role.")
                                   .Register(registry),
                               {}, buckets::kLinkRttSeconds);
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

void PolicyMetrics::linkQuality(Role role, Direction direction, double bits_per_second, double loss,
                                double rtt_seconds) {
  link_bitrate_[role][direction]->Observe(bits_per_second / 8);
  link_loss_[role][direction]->Observe(loss);
  if (rtt_seconds > 0) link_rtt_[role]->Observe(rtt_seconds);
}

void PolicyMetrics::onAccessRecord(std::string_view event, std::string_view role,
                                   std::string_view reason) {
  if (event == "join_refused") {
    joinRefused(labelFromString<JoinRefusal>(reason), labelFromString<Role>(role));
  } else if (event == "participant_joined") {
    participants_[labelFromString<Role>(role)]->Increment();
  } else if (event == "participant_left") {
    const auto end = labelFromString<SessionEndReason>(reason);
    sessions_ended_[end]->Increment();
    if (end != SessionEndReason::kServerRestart) {
      participants_[labelFromString<Role>(role)]->Decrement();
    }
  } else if (event == "consultation_started") {
    consultationStarted();
  } else if (event == "consultation_ended") {
    consultationEnded();
  } else if (event == "api_auth_failed") {
    apiAuthFailed(labelFromString<ApiAuthFailure>(reason));
  }
}

}  // namespace medrelay::metrics
