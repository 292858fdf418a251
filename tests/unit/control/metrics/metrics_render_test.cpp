#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "build_info.h"
#include "control/metrics/loop_monitor.h"
#include "control/metrics/metrics.h"
#include "exposition_text.h"
#include "net/dispatcher.h"

namespace medrelay::metrics {
namespace {

using test::Exposition;
using test::parseExposition;
using Values = std::set<std::string>;

template <typename E>
Values values() {
  Values out;
  for (auto v : LabelTraits<E>::kValues) out.insert(std::string(v));
  return out;
}

// The routes the tests declare, as the server does from its Router at startup.
const HttpMetrics::RouteList& testRoutes() {
  static const HttpMetrics::RouteList routes = {{"POST", "/v1/rooms"},
                                                {"GET", "/v1/rooms"},
                                                {"POST", "/v1/rooms/{id}/whip"},
                                                {"PATCH", "/v1/rooms/{id}/sessions/{session}"},
                                                {"DELETE", "/v1/rooms/{id}/sessions/{session}"},
                                                {"GET", "/healthz"}};
  return routes;
}

Values httpMethods() {
  return {"POST", "GET", "PATCH", "DELETE", "PATCH|DELETE", "other"};
}

Values httpRoutes() {
  Values out{"other"};
  for (const auto& [method, path] : testRoutes()) out.insert(path);
  return out;
}

struct Expected {
  std::string name;
  std::string type;
  std::map<std::string, Values> labels;  // label name -> every value it may take
  bool full_product = true;              // every combination of the label values is present
};

// Written out independently of the code on purpose: renaming a family, changing its type or its
// labels must fail here (and then in docs/operations.md).
std::vector<Expected> expectedFamilies(const Values& workers, const Values& loops) {
  const Values none;
  return {
      {"medrelay_access_log_bytes_total", "counter", {}},
      {"medrelay_access_log_fsync_duration_seconds", "histogram", {}},
      {"medrelay_access_log_records_total", "counter", {}},
      {"medrelay_access_log_unhealthy", "gauge", {}},
      {"medrelay_access_log_write_errors_total", "counter", {{"kind", values<AccessLogError>()}}},
      {"medrelay_api_auth_failures_total", "counter", {{"reason", values<ApiAuthFailure>()}}},
      {"medrelay_build_info",
       "gauge",
       {{"build_type", {"Debug", "Release", "RelWithDebInfo", "MinSizeRel", "none"}},
        {"version", {kVersion}}},
       false},
      {"medrelay_cluster_lease_conflicts_total", "counter", {{"kind", values<LeaseConflict>()}}},
      {"medrelay_cluster_nodes", "gauge", {{"state", values<ClusterNodeState>()}}},
      {"medrelay_cluster_placements_total", "counter", {{"outcome", values<ClusterPlacement>()}}},
      {"medrelay_cluster_redirects_total", "counter", {}},
      {"medrelay_cluster_store_latency_seconds", "histogram", {}},
      {"medrelay_cluster_store_up", "gauge", {}},
      {"medrelay_clock_estimated_error_seconds", "gauge", {}},
      {"medrelay_clock_sync_losses_total", "counter", {}},
      {"medrelay_clock_synced", "gauge", {}},
      {"medrelay_consultations_ended_total", "counter", {}},
      {"medrelay_consultations_started_total", "counter", {}},
      {"medrelay_datachannel_bytes_total",
       "counter",
       {{"worker", workers}, {"direction", values<Direction>()}}},
      {"medrelay_datachannel_messages_total",
       "counter",
       {{"worker", workers}, {"direction", values<Direction>()}}},
      {"medrelay_datachannel_refused_total",
       "counter",
       {{"worker", workers}, {"reason", values<DataChannelRefusal>()}}},
      {"medrelay_dtls_failures_total",
       "counter",
       {{"worker", workers}, {"reason", values<DtlsFailure>()}}},
      {"medrelay_dtls_handshakes_total", "counter", {{"worker", workers}}},
      {"medrelay_event_loop_idle_seconds_total", "counter", {{"worker", loops}}},
      {"medrelay_event_loop_lag_seconds", "histogram", {{"worker", loops}}},
      {"medrelay_event_loop_utilization_ratio", "gauge", {{"worker", loops}}},
      {"medrelay_filesystem_avail_bytes", "gauge", {{"dir", values<DataDir>()}}},
      {"medrelay_filesystem_size_bytes", "gauge", {{"dir", values<DataDir>()}}},
      {"medrelay_forwarding_latency_seconds", "histogram", {}},
      {"medrelay_http_request_duration_seconds",
       "histogram",
       {{"method", httpMethods()}, {"route", httpRoutes()}},
       false},
      {"medrelay_http_requests_total",
       "counter",
       {{"method", httpMethods()},
        {"route", httpRoutes()},
        {"status_class", values<StatusClass>()}},
       false},
      {"medrelay_ice_failures_total",
       "counter",
       {{"worker", workers}, {"reason", values<IceFailure>()}}},
      {"medrelay_ice_handshakes_total",
       "counter",
       {{"worker", workers}, {"transport", values<Transport>()}}},
      {"medrelay_join_duration_seconds", "histogram", {}},
      {"medrelay_join_refusals_total",
       "counter",
       {{"reason", values<JoinRefusal>()}, {"role", values<Role>()}}},
      {"medrelay_keyframe_requests_total",
       "counter",
       {{"worker", workers},
        {"kind", values<KeyframeRequest>()},
        {"direction", values<Direction>()}}},
      {"medrelay_link_loss_ratio",
       "histogram",
       {{"role", values<Role>()}, {"direction", values<Direction>()}}},
      {"medrelay_link_media_bytes_per_second",
       "histogram",
       {{"role", values<Role>()}, {"direction", values<Direction>()}}},
      {"medrelay_link_rtt_seconds", "histogram", {{"role", values<Role>()}}},
      {"medrelay_media_bytes_total",
       "counter",
       {{"worker", workers}, {"kind", values<PacketKind>()}, {"direction", values<Direction>()}}},
      {"medrelay_media_packets_dropped_total",
       "counter",
       {{"worker", workers}, {"reason", values<DropReason>()}}},
      {"medrelay_media_packets_total",
       "counter",
       {{"worker", workers}, {"kind", values<PacketKind>()}, {"direction", values<Direction>()}}},
      {"medrelay_nacks_total",
       "counter",
       {{"worker", workers}, {"direction", values<Direction>()}}},
      {"medrelay_participants_connected", "gauge", {{"role", values<Role>()}}},
      {"medrelay_ready", "gauge", {}},
      {"medrelay_retransmissions_suppressed_total", "counter", {{"worker", workers}}},
      {"medrelay_sender_limits_total", "counter", {{"worker", workers}}},
      {"medrelay_downlink_overuse_total", "counter", {{"worker", workers}}},
      {"medrelay_video_flow_changes_total",
       "counter",
       {{"worker", workers}, {"change", values<VideoFlow>()}}},
      {"medrelay_retransmissions_total", "counter", {{"worker", workers}}},
      {"medrelay_rooms", "gauge", {{"state", values<RoomState>()}}},
      {"medrelay_sessions_ended_total", "counter", {{"reason", values<SessionEndReason>()}}},
      {"medrelay_sctp_associations_total", "counter", {{"worker", workers}}},
      {"medrelay_srtp_errors_total",
       "counter",
       {{"worker", workers}, {"direction", values<Direction>()}, {"reason", values<SrtpError>()}}},
      {"medrelay_store_errors_total", "counter", {{"kind", values<StoreError>()}}},
      {"medrelay_tls_certificate_expiry_timestamp_seconds", "gauge", {}},
      {"medrelay_transport_cc_feedback_total", "counter", {{"worker", workers}}},
      {"medrelay_transport_dropped_total",
       "counter",
       {{"worker", workers}, {"reason", values<TransportDrop>()}}},
      {"medrelay_turn_allocations_active",
       "gauge",
       {{"worker", workers}, {"transport", values<Transport>()}}},
      {"medrelay_turn_allocations_created_total",
       "counter",
       {{"worker", workers}, {"transport", values<Transport>()}}},
      {"medrelay_turn_auth_failures_total",
       "counter",
       {{"worker", workers}, {"reason", values<TurnAuthFailure>()}}},
      {"medrelay_turn_channels_active", "gauge", {{"worker", workers}}},
      {"medrelay_turn_local_path_packets_total",
       "counter",
       {{"worker", workers}, {"direction", values<Direction>()}}},
      {"medrelay_turn_permissions_active", "gauge", {{"worker", workers}}},
      {"medrelay_turn_quota_refusals_total",
       "counter",
       {{"worker", workers}, {"reason", values<TurnQuota>()}}},
      {"medrelay_turn_relayed_bytes_total",
       "counter",
       {{"worker", workers}, {"direction", values<Direction>()}}},
      {"medrelay_turn_relayed_packets_total",
       "counter",
       {{"worker", workers}, {"direction", values<Direction>()}}},
      {"medrelay_webhook_dead_letters_total", "counter", {}},
      {"medrelay_webhook_deliveries_total", "counter", {}},
      {"medrelay_webhook_failures_total", "counter", {}},
      {"medrelay_webhook_lag_records", "gauge", {}},
      {"medrelay_webhook_pending", "gauge", {}},
      {"process_cpu_seconds_total", "counter", {}},
      {"process_max_fds", "gauge", {}},
      {"process_open_fds", "gauge", {}},
      {"process_resident_memory_bytes", "gauge", {}},
      {"process_start_time_seconds", "gauge", {}},
      {"process_virtual_memory_bytes", "gauge", {}},
  };
}

// A registry with two workers and a monitored control loop, scraped once.
class MetricsRenderTest : public ::testing::Test {
 protected:
  Exposition scrape() {
    const std::string text = metrics_.render();
    Exposition e = parseExposition(text);
    EXPECT_TRUE(e.errors.empty()) << e.errors.front();
    return e;
  }

  MetricsRenderTest() { metrics_.http().declareRoutes(testRoutes()); }

  Metrics metrics_;
  WorkerMetrics& w0_ = metrics_.addWorker("0");
  WorkerMetrics& w1_ = metrics_.addWorker("1");
};

TEST_F(MetricsRenderTest, EveryDeclaredFamilyHasHelpTypeNameAndLabelSet) {
  net::Dispatcher control("control");
  LoopMonitor monitor(control, metrics_, "control");
  const Exposition e = scrape();
  const auto expected = expectedFamilies({"0", "1"}, {"control"});

  std::set<std::string> expected_names;
  for (const auto& x : expected) {
    expected_names.insert(x.name);
    SCOPED_TRACE(x.name);
    auto it = e.families.find(x.name);
    ASSERT_NE(it, e.families.end());
    const test::Family& f = it->second;
    EXPECT_FALSE(f.help.empty());
    EXPECT_EQ(f.type, x.type);
    ASSERT_FALSE(f.samples.empty());

    std::set<std::string> names;
    for (const auto& [label, vals] : x.labels) names.insert(label);
    EXPECT_EQ(f.labelNames(), names);
    // Every sample carries all of the family's labels, each with a declared value.
    size_t series = 0;
    for (const auto& s : f.samples) {
      if (x.type == "histogram" && s.name != x.name + "_count") continue;
      ++series;
      for (const auto& [label, vals] : x.labels) {
        ASSERT_EQ(s.labels.count(label), 1u) << s.name;
        EXPECT_EQ(vals.count(s.labels.at(label)), 1u) << label << "=" << s.labels.at(label);
      }
    }
    if (x.full_product) {
      size_t product = 1;
      for (const auto& [label, vals] : x.labels) product *= vals.size();
      EXPECT_EQ(series, product) << "every child pre-resolved";
    }
  }
  std::set<std::string> rendered;
  for (const auto& [name, f] : e.families) rendered.insert(name);
  EXPECT_EQ(rendered, expected_names);
  // Families come out sorted by name, each exactly once.
  EXPECT_TRUE(std::is_sorted(e.order.begin(), e.order.end()));
  EXPECT_EQ(e.order.size(), expected_names.size());
}

TEST_F(MetricsRenderTest, HttpRequestsArePreResolvedPerRouteWithItsOwnMethodOnly) {
  const Exposition e = scrape();
  const auto& f = e.families.at("medrelay_http_requests_total");
  // Each (method, template) route and other; a shared-template name only once used.
  std::set<std::pair<std::string, std::string>> expected = {
      {"POST", "/v1/rooms"},
      {"GET", "/v1/rooms"},
      {"POST", "/v1/rooms/{id}/whip"},
      {"PATCH", "/v1/rooms/{id}/sessions/{session}"},
      {"DELETE", "/v1/rooms/{id}/sessions/{session}"},
      {"GET", "/healthz"},
      {"other", "other"}};
  auto check = [&](const Exposition& ex) {
    const auto& fam = ex.families.at("medrelay_http_requests_total");
    EXPECT_EQ(fam.samples.size(), expected.size() * labelCount<StatusClass>());
    for (const auto& s : fam.samples) {
      EXPECT_EQ(expected.count({s.labels.at("method"), s.labels.at("route")}), 1u)
          << s.labels.at("method") << " " << s.labels.at("route");
    }
  };
  check(e);
  (void)f;
  metrics_.http().record("/v1/rooms/{id}/sessions/{session}", 204, 0.001);
  expected.insert({"PATCH|DELETE", "/v1/rooms/{id}/sessions/{session}"});
  const Exposition after = scrape();
  check(after);
  EXPECT_EQ(
      after.value("medrelay_http_requests_total", {{"method", "PATCH|DELETE"},
                                                   {"route", "/v1/rooms/{id}/sessions/{session}"},
                                                   {"status_class", "2xx"}}),
      1);
}

TEST_F(MetricsRenderTest, RouteNamesResolveLikeTheRouterReportsThem) {
  HttpMetrics& h = metrics_.http();
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(h.labelsOf("POST /v1/rooms"), P("POST", "/v1/rooms"));  // REST API names
  EXPECT_EQ(h.labelsOf("/healthz"), P("GET", "/healthz"));          // default: the template
  EXPECT_EQ(h.labelsOf("/v1/rooms/{id}/whip"), P("POST", "/v1/rooms/{id}/whip"));
  EXPECT_EQ(h.labelsOf("/v1/rooms/{id}/sessions/{session}"),
            P("PATCH|DELETE", "/v1/rooms/{id}/sessions/{session}"));
  EXPECT_EQ(h.labelsOf("/v1/rooms"), P("POST|GET", "/v1/rooms"));
  EXPECT_EQ(h.labelsOf("unmatched"), P("other", "other"));
  EXPECT_EQ(h.labelsOf(""), P("other", "other"));
  EXPECT_EQ(h.labelsOf("/v1/rooms/abc123"), P("other", "other"));  // never a concrete path
  // Declaring again (or more routes later) adds, never duplicates.
  h.declareRoutes(testRoutes());
  h.declareRoutes({{"GET", "/v1/rooms/{id}/invites"}});
  EXPECT_EQ(h.labelsOf("/v1/rooms/{id}/invites"), P("GET", "/v1/rooms/{id}/invites"));
  const Exposition e = scrape();
  EXPECT_EQ(e.families.at("medrelay_http_requests_total").samples.size(),
            8 * labelCount<StatusClass>());
}

TEST_F(MetricsRenderTest, PolicyFamiliesFollowTheAccessRecords) {
  PolicyMetrics& p = metrics_.policy();
  p.onAccessRecord("participant_joined", "doctor", "");
  p.onAccessRecord("participant_joined", "patient", "");
  p.onAccessRecord("participant_joined", "patient", "");
  p.onAccessRecord("participant_left", "patient", "hangup");
  p.onAccessRecord("participant_left", "nurse", "server-restart");  // from a previous process
  p.onAccessRecord("join_refused", "patient", "not_yet_open");
  p.onAccessRecord("join_refused", "", "invalid_token");
  p.onAccessRecord("join_refused", "doctor", "something_new");
  p.onAccessRecord("consultation_started", "", "");
  p.onAccessRecord("consultation_ended", "", "hangup");
  p.onAccessRecord("api_auth_failed", "", "invalid_api_key");
  p.onAccessRecord("api_auth_failed", "", "rate_limited");
  p.onAccessRecord("room_created", "", "");
  const Exposition e = scrape();
  EXPECT_EQ(e.value("medrelay_participants_connected", {{"role", "doctor"}}), 1);
  EXPECT_EQ(e.value("medrelay_participants_connected", {{"role", "patient"}}), 1);
  EXPECT_EQ(e.value("medrelay_participants_connected", {{"role", "nurse"}}), 0);
  EXPECT_EQ(e.value("medrelay_sessions_ended_total", {{"reason", "hangup"}}), 1);
  EXPECT_EQ(e.value("medrelay_sessions_ended_total", {{"reason", "server-restart"}}), 1);
  EXPECT_EQ(
      e.value("medrelay_join_refusals_total", {{"reason", "not_yet_open"}, {"role", "patient"}}),
      1);
  EXPECT_EQ(
      e.value("medrelay_join_refusals_total", {{"reason", "invalid_token"}, {"role", "other"}}), 1);
  EXPECT_EQ(e.value("medrelay_join_refusals_total", {{"reason", "other"}, {"role", "doctor"}}), 1);
  EXPECT_EQ(e.value("medrelay_consultations_started_total"), 1);
  EXPECT_EQ(e.value("medrelay_consultations_ended_total"), 1);
  EXPECT_EQ(e.value("medrelay_api_auth_failures_total", {{"reason", "invalid_api_key"}}), 1);
  EXPECT_EQ(e.value("medrelay_api_auth_failures_total", {{"reason", "rate_limited"}}), 1);
}

TEST_F(MetricsRenderTest, AccessLogTotalsOnlyRiseAndScrapeHooksRunFirst) {
  AccessLogMetrics::Totals t;
  int hook_runs = 0;
  metrics_.addScrapeHook([&] {
    ++hook_runs;
    metrics_.accessLog().sync(t);
  });
  t.records = 5;
  t.bytes = 900;
  t.errors[AccessLogError::kFsync] = 2;
  t.unhealthy = true;
  Exposition e = scrape();
  EXPECT_EQ(hook_runs, 1);
  EXPECT_EQ(e.value("medrelay_access_log_records_total"), 5);
  EXPECT_EQ(e.value("medrelay_access_log_bytes_total"), 900);
  EXPECT_EQ(e.value("medrelay_access_log_write_errors_total", {{"kind", "fsync"}}), 2);
  EXPECT_EQ(e.value("medrelay_access_log_unhealthy"), 1);
  t.records = 3;  // a counter never goes down
  t.unhealthy = false;
  e = scrape();
  EXPECT_EQ(e.value("medrelay_access_log_records_total"), 5);
  EXPECT_EQ(e.value("medrelay_access_log_unhealthy"), 0);
}

TEST_F(MetricsRenderTest, ServerGaugesFromStatvfsAndTheCertificate) {
  ServerMetrics& s = metrics_.server();
  EXPECT_TRUE(s.updateFilesystem(DataDir::kData, "/"));
  EXPECT_FALSE(s.updateFilesystem(DataDir::kAccessLog, "/no/such/dir/anywhere"));
  s.setReady(true);
  const Exposition e = scrape();
  EXPECT_GT(e.value("medrelay_filesystem_size_bytes", {{"dir", "data"}}), 0);
  EXPECT_LE(e.value("medrelay_filesystem_avail_bytes", {{"dir", "data"}}),
            e.value("medrelay_filesystem_size_bytes", {{"dir", "data"}}));
  EXPECT_EQ(e.value("medrelay_filesystem_size_bytes", {{"dir", "access_log"}}), 0);
  EXPECT_EQ(e.value("medrelay_ready"), 1);
  EXPECT_EQ(certificateNotAfter("/no/such/cert.pem"), std::nullopt);
}

TEST_F(MetricsRenderTest, CountersIncrementWhereTheyAreDeclared) {
  w0_.media.received(PacketKind::kRtp, 1200);
  w0_.media.received(PacketKind::kRtp, 800);
  w1_.media.sent(PacketKind::kRtcp, 60);
  w1_.media.dropped[DropReason::kUnknownSsrc].inc();
  w0_.media.srtp_errors[Direction::kIn][SrtpError::kReplay].inc(3);
  w0_.media.nacks[Direction::kOut].inc();
  w0_.media.retransmissions.inc(2);
  w0_.media.keyframe_requests[KeyframeRequest::kPli][Direction::kIn].inc();
  w0_.media.ice_handshakes[Transport::kTcp].inc();
  w0_.media.dtls_failures[DtlsFailure::kFingerprint].inc();
  w1_.turn.relayed(Direction::kOut, 100);
  w1_.turn.allocations_active[Transport::kTls].inc();
  w1_.turn.allocations_active[Transport::kTls].inc();
  w1_.turn.allocations_active[Transport::kTls].dec();
  w1_.turn.quota_refusals[TurnQuota::kAllocationsPerUser].inc();
  metrics_.http().record("/v1/rooms/{id}/whip", 201, 0.004);
  metrics_.http().record("/v1/rooms/{id}/whip", 403, 0.001);
  metrics_.policy().joinRefused(JoinRefusal::kNotYetOpen);
  metrics_.policy().setRooms(RoomState::kInConsultation, 1);
  metrics_.policy().onAccessRecord("participant_joined", "nurse", "");
  metrics_.policy().onAccessRecord("participant_left", "nurse", "window-closed");
  metrics_.policy().joinCompleted(0.7);
  metrics_.policy().consultationStarted();
  AccessLogMetrics::Totals totals;
  totals.records = 1;
  totals.bytes = 321;
  totals.errors[AccessLogError::kFsync] = 1;
  metrics_.accessLog().sync(totals);
  metrics_.accessLog().fsynced(0.0003);
  metrics_.store().error(StoreError::kBusy);

  const Exposition e = scrape();
  EXPECT_EQ(e.value("medrelay_media_packets_total",
                    {{"worker", "0"}, {"kind", "rtp"}, {"direction", "in"}}),
            2);
  EXPECT_EQ(e.value("medrelay_media_bytes_total",
                    {{"worker", "0"}, {"kind", "rtp"}, {"direction", "in"}}),
            2000);
  EXPECT_EQ(e.value("medrelay_media_packets_total",
                    {{"worker", "1"}, {"kind", "rtp"}, {"direction", "in"}}),
            0);
  EXPECT_EQ(e.value("medrelay_media_bytes_total",
                    {{"worker", "1"}, {"kind", "rtcp"}, {"direction", "out"}}),
            60);
  EXPECT_EQ(e.value("medrelay_media_packets_dropped_total",
                    {{"worker", "1"}, {"reason", "unknown_ssrc"}}),
            1);
  EXPECT_EQ(e.value("medrelay_srtp_errors_total",
                    {{"worker", "0"}, {"direction", "in"}, {"reason", "replay"}}),
            3);
  EXPECT_EQ(e.value("medrelay_nacks_total", {{"worker", "0"}, {"direction", "out"}}), 1);
  EXPECT_EQ(e.value("medrelay_retransmissions_total", {{"worker", "0"}}), 2);
  EXPECT_EQ(e.value("medrelay_keyframe_requests_total",
                    {{"worker", "0"}, {"kind", "pli"}, {"direction", "in"}}),
            1);
  EXPECT_EQ(e.value("medrelay_ice_handshakes_total", {{"worker", "0"}, {"transport", "tcp"}}), 1);
  EXPECT_EQ(e.value("medrelay_dtls_failures_total", {{"worker", "0"}, {"reason", "fingerprint"}}),
            1);
  EXPECT_EQ(e.value("medrelay_turn_relayed_bytes_total", {{"worker", "1"}, {"direction", "out"}}),
            100);
  EXPECT_EQ(e.value("medrelay_turn_relayed_packets_total", {{"worker", "1"}, {"direction", "out"}}),
            1);
  EXPECT_EQ(e.value("medrelay_turn_allocations_active", {{"worker", "1"}, {"transport", "tls"}}),
            1);
  EXPECT_EQ(e.value("medrelay_turn_quota_refusals_total",
                    {{"worker", "1"}, {"reason", "allocations_per_user"}}),
            1);
  const std::map<std::string, std::string> whip{{"method", "POST"},
                                                {"route", "/v1/rooms/{id}/whip"}};
  auto with = [](auto labels, const char* k, const char* v) {
    labels[k] = v;
    return labels;
  };
  EXPECT_EQ(e.value("medrelay_http_requests_total", with(whip, "status_class", "2xx")), 1);
  EXPECT_EQ(e.value("medrelay_http_requests_total", with(whip, "status_class", "4xx")), 1);
  EXPECT_EQ(e.value("medrelay_http_request_duration_seconds_count", whip), 2);
  EXPECT_NEAR(e.value("medrelay_http_request_duration_seconds_sum", whip), 0.005, 1e-9);
  EXPECT_EQ(e.value("medrelay_http_request_duration_seconds_bucket", with(whip, "le", "0.001")), 1);
  EXPECT_EQ(
      e.value("medrelay_join_refusals_total", {{"reason", "not_yet_open"}, {"role", "other"}}), 1);
  EXPECT_EQ(e.value("medrelay_rooms", {{"state", "scheduled"}}), 0);
  EXPECT_EQ(e.value("medrelay_rooms", {{"state", "in_consultation"}}), 1);
  EXPECT_EQ(e.value("medrelay_participants_connected", {{"role", "nurse"}}), 0);
  EXPECT_EQ(e.value("medrelay_sessions_ended_total", {{"reason", "window-closed"}}), 1);
  EXPECT_EQ(e.value("medrelay_join_duration_seconds_count"), 1);
  EXPECT_EQ(e.value("medrelay_join_duration_seconds_bucket", {{"le", "0.5"}}), 0);
  EXPECT_EQ(e.value("medrelay_join_duration_seconds_bucket", {{"le", "1"}}), 1);
  EXPECT_EQ(e.value("medrelay_consultations_started_total"), 1);
  EXPECT_EQ(e.value("medrelay_consultations_ended_total"), 0);
  EXPECT_EQ(e.value("medrelay_access_log_records_total"), 1);
  EXPECT_EQ(e.value("medrelay_access_log_bytes_total"), 321);
  EXPECT_EQ(e.value("medrelay_access_log_fsync_duration_seconds_bucket", {{"le", "0.00025"}}), 0);
  EXPECT_EQ(e.value("medrelay_access_log_fsync_duration_seconds_bucket", {{"le", "0.0005"}}), 1);
  EXPECT_EQ(e.value("medrelay_access_log_write_errors_total", {{"kind", "fsync"}}), 1);
  EXPECT_EQ(e.value("medrelay_store_errors_total", {{"kind", "busy"}}), 1);
  EXPECT_EQ(e.value("medrelay_build_info", {{"version", kVersion}, {"build_type", kBuildType}}), 1);
}

TEST_F(MetricsRenderTest, OutOfRangeEnumsAndStatusesMapToOther) {
  w0_.media.dropped[static_cast<DropReason>(200)].inc();
  w0_.media.packets[static_cast<PacketKind>(7)][static_cast<Direction>(9)].inc();
  metrics_.policy().joinRefused(static_cast<JoinRefusal>(99), static_cast<Role>(77));
  metrics_.policy().onAccessRecord("participant_joined", "surgeon", "");
  metrics_.http().record("/no/such/template", 404, 0.001);
  metrics_.http().record("/healthz", 999, 0.001);
  metrics_.http().record("/healthz", 42, 0.001);

  const Exposition e = scrape();
  EXPECT_EQ(e.value("medrelay_media_packets_dropped_total", {{"worker", "0"}, {"reason", "other"}}),
            1);
  EXPECT_EQ(e.value("medrelay_media_packets_total",
                    {{"worker", "0"}, {"kind", "other"}, {"direction", "other"}}),
            1);
  EXPECT_EQ(e.value("medrelay_join_refusals_total", {{"reason", "other"}, {"role", "other"}}), 1);
  EXPECT_EQ(e.value("medrelay_participants_connected", {{"role", "other"}}), 1);
  EXPECT_EQ(e.value("medrelay_http_requests_total",
                    {{"method", "other"}, {"route", "other"}, {"status_class", "4xx"}}),
            1);
  EXPECT_EQ(e.value("medrelay_http_requests_total",
                    {{"method", "GET"}, {"route", "/healthz"}, {"status_class", "other"}}),
            2);
}

TEST(StatusClassTest, Boundaries) {
  EXPECT_EQ(statusClass(100), StatusClass::k1xx);
  EXPECT_EQ(statusClass(199), StatusClass::k1xx);
  EXPECT_EQ(statusClass(200), StatusClass::k2xx);
  EXPECT_EQ(statusClass(304), StatusClass::k3xx);
  EXPECT_EQ(statusClass(499), StatusClass::k4xx);
  EXPECT_EQ(statusClass(500), StatusClass::k5xx);
  EXPECT_EQ(statusClass(599), StatusClass::k5xx);
  EXPECT_EQ(statusClass(600), StatusClass::kOther);
  EXPECT_EQ(statusClass(99), StatusClass::kOther);
  EXPECT_EQ(statusClass(0), StatusClass::kOther);
  EXPECT_EQ(statusClass(-200), StatusClass::kOther);
}

TEST_F(MetricsRenderTest, ForwardingLatencyIsSummedOverWorkersWithInclusiveBounds) {
  w0_.media.forwarded(10'000);      // exactly 10 us: le="1e-05"
  w0_.media.forwarded(10'001);      // just above: le="2.5e-05"
  w1_.media.forwarded(3'000'000);   // 3 ms: le="0.005"
  w1_.media.forwarded(90'000'000);  // 90 ms: only +Inf
  const Exposition e = scrape();
  const std::string b = "medrelay_forwarding_latency_seconds_bucket";
  EXPECT_EQ(e.value(b, {{"le", "1e-05"}}), 1);
  EXPECT_EQ(e.value(b, {{"le", "2.5e-05"}}), 2);
  EXPECT_EQ(e.value(b, {{"le", "0.0025"}}), 2);
  EXPECT_EQ(e.value(b, {{"le", "0.005"}}), 3);
  EXPECT_EQ(e.value(b, {{"le", "0.05"}}), 3);
  EXPECT_EQ(e.value(b, {{"le", "+Inf"}}), 4);
  EXPECT_EQ(e.value("medrelay_forwarding_latency_seconds_count"), 4);
  EXPECT_NEAR(e.value("medrelay_forwarding_latency_seconds_sum"), 0.093020001, 1e-12);
}

TEST(MetricsTest, AddWorkerReturnsTheSameBlockForTheSameNameAndBlocksDoNotShareCacheLines) {
  Metrics metrics;
  WorkerMetrics& a = metrics.addWorker("0");
  WorkerMetrics& b = metrics.addWorker("1");
  EXPECT_EQ(&metrics.addWorker("0"), &a);
  EXPECT_NE(&a, &b);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&b) % 64, 0u);
}

TEST(MetricsTest, InstancesAreIndependent) {
  Metrics one;
  Metrics two;
  one.policy().consultationStarted();
  one.addWorker("0").media.retransmissions.inc();
  const Exposition a = parseExposition(one.render());
  const Exposition b = parseExposition(two.render());
  EXPECT_EQ(a.value("medrelay_consultations_started_total"), 1);
  EXPECT_EQ(b.value("medrelay_consultations_started_total"), 0);
  EXPECT_EQ(a.value("medrelay_retransmissions_total", {{"worker", "0"}}), 1);
  EXPECT_EQ(b.value("medrelay_retransmissions_total", {{"worker", "0"}}), -1);  // no such worker
}

TEST(MetricsTest, WorkerThreadsCountExactlyWhileScrapesRun) {
  Metrics metrics;
  constexpr int kIncrements = 200'000;
  net::DispatcherThread t0("w0");
  net::DispatcherThread t1("w1");
  std::atomic<int> done{0};
  for (auto* t : {&t0, &t1}) {
    const std::string name = t == &t0 ? "0" : "1";
    t->dispatcher().post([&metrics, &done, name] {
      WorkerMetrics& w = metrics.addWorker(name);
      for (int i = 0; i < kIncrements; ++i) {
        w.media.received(PacketKind::kRtp, 100);
        w.media.forwarded(static_cast<uint64_t>(i % 1000) * 1000);
      }
      ++done;
    });
  }
  int scrapes = 0;
  while (done.load() < 2 || scrapes == 0) {
    const Exposition e = parseExposition(metrics.render());
    // _count is derived from the buckets, so it always equals +Inf, even mid-write.
    EXPECT_EQ(e.value("medrelay_forwarding_latency_seconds_count"),
              e.value("medrelay_forwarding_latency_seconds_bucket", {{"le", "+Inf"}}));
    ++scrapes;
  }
  const Exposition e = parseExposition(metrics.render());
  for (const char* w : {"0", "1"}) {
    EXPECT_EQ(e.value("medrelay_media_packets_total",
                      {{"worker", w}, {"kind", "rtp"}, {"direction", "in"}}),
              kIncrements);
    EXPECT_EQ(e.value("medrelay_media_bytes_total",
                      {{"worker", w}, {"kind", "rtp"}, {"direction", "in"}}),
              100.0 * kIncrements);
  }
  EXPECT_EQ(e.value("medrelay_forwarding_latency_seconds_count"), 2.0 * kIncrements);
}

}  // namespace
}  // namespace medrelay::metrics
