// Observability through the real medrelay binary (loopback, port 0): a live /metrics scrape after
// an API scenario passes `promtool check metrics`, carries sensible values, and names every
// metric the Grafana dashboard and the alert rules use; the JSON log lines carry room/session
// context and never a token, the API key or personal data.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/api_client.h"
#include "tests/support/server_process.h"
#include "tests/support/test_support.h"

namespace medrelay::test {
namespace {

using nlohmann::json;

constexpr const char* kDoctorName = "Dr. Hanako Observability-Canary";
constexpr const char* kPatientSubject = "patient-subject-canary-7731";

std::string findPromtool() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const auto p = std::filesystem::path(dir) / "promtool";
    if (std::filesystem::exists(p)) return p.string();
  }
  return {};
}

// Samples of a text exposition: "name{labels}" -> value, plus the declared families.
struct Scrape {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, double> samples;     // name{a="x",b="y"} exactly as rendered
  std::set<std::string> sample_names;

  double value(const std::string& key) const {
    auto it = samples.find(key);
    return it == samples.end() ? -1 : it->second;
  }
};

Scrape parseScrape(const std::string& text) {
  Scrape s;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      std::string name, type;
      f >> name >> type;
      s.types[name] = type;
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    const std::string key = line.substr(0, sp);
    s.samples[key] = std::stod(line.substr(sp + 1));
    s.sample_names.insert(key.substr(0, key.find('{')));
  }
  return s;
}

// Metric names in a PromQL expression: identifiers outside label matchers, strings and range
// brackets that are not functions, keywords, or label lists of by/without/on/ignoring/group_*.
std::set<std::string> promqlMetricNames(const std::string& expr) {
  static const std::set<std::string> kKeywords = {
      "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
      "offset", "bool", "inf", "nan", "Inf", "NaN",
      // Aggregation operators may be followed by a by/without clause instead of "(".
      "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk",
      "topk", "quantile"};
  static const std::set<std::string> kListKeywords = {"by",       "without",    "on",
                                                      "ignoring", "group_left", "group_right"};
  std::set<std::string> out;
  size_t i = 0;
  auto skipTo = [&](char open, char close) {
    int depth = 0;
    for (; i < expr.size(); ++i) {
      if (expr[i] == open) ++depth;
      if (expr[i] == close && --depth == 0) {
        ++i;
        return;
      }
    }
  };
  auto isStart = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
  auto isPart = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '{') {
      skipTo('{', '}');
    } else if (c == '[') {
      skipTo('[', ']');
    } else if (c == '"' || c == '\'' || c == '`') {
      const size_t end = expr.find(c, i + 1);
      i = end == std::string::npos ? expr.size() : end + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '$') {
      while (i < expr.size() && (isPart(expr[i]) || expr[i] == '.' || expr[i] == '$')) ++i;
    } else if (isStart(c)) {
      const size_t start = i;
      while (i < expr.size() && isPart(expr[i])) ++i;
      const std::string word = expr.substr(start, i - start);
      size_t j = i;
      while (j < expr.size() && std::isspace(static_cast<unsigned char>(expr[j]))) ++j;
      const bool call = j < expr.size() && expr[j] == '(';
      if (kListKeywords.count(word) != 0) {
        if (call) {
          i = j;
          skipTo('(', ')');
        }
      } else if (!call && kKeywords.count(word) == 0) {
        out.insert(word);
      }
    } else {
      ++i;
    }
  }
  return out;
}

// A name the live scrape exposes: a family, or a histogram's _bucket/_sum/_count series.
bool exported(const Scrape& s, const std::string& name) {
  if (s.sample_names.count(name) != 0 || s.types.count(name) != 0) return true;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string sfx = suffix;
    if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0) {
      const auto base = name.substr(0, name.size() - sfx.size());
      auto it = s.types.find(base);
      if (it != s.types.end() && it->second == "histogram") return true;
    }
  }
  return false;
}

void collectExprs(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "expr" && v.is_string()) out.push_back(v.get<std::string>());
      collectExprs(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collectExprs(v, out);
  }
}

class ObservabilityProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(
        dir_, std::vector<std::string>{"--set", "storage.data_dir=" + data(), "--set",
                                       "http.listen=127.0.0.1:0", "--set", "media.workers=2",
                                       "--set", "media.udp_port=0", "--set", "media.tcp_port=0",
                                       "--set", "turn.enabled=false", "--set", "log.format=json",
                                       "--set", "log.level=debug"});
    port_ = waitForHttpPort(*server_);
    ASSERT_NE(port_, 0) << server_->output();
    ASSERT_TRUE(server_->waitForOutput("medrelay started")) << server_->output();
    key_ = readFile(data() + "/api-key");
    while (!key_.empty() && (key_.back() == '\n' || key_.back() == '\r')) key_.pop_back();
    ASSERT_FALSE(key_.empty());
  }

  std::string data() const { return dir_.str() + "/data"; }
  ApiClient backend() const { return ApiClient(port_, key_); }

  // A consultation from creation to end, plus a few failures: what an SRE would see in a day.
  void runScenario() {
    json room_body = {{"mode", "d2p"},
                      {"scheduled_start", "now"},
                      {"institution_id", "clinic-1"},
                      {"institution_contact", "03-0000-0000"},
                      {"doctor_display_name", kDoctorName},
                      {"title", "follow-up"}};
    auto r = backend().post("/v1/rooms", room_body);
    ASSERT_EQ(r.status, 201) << r.body;
    room_ = r.json().value("id", "");
    auto d = backend().post("/v1/rooms/" + room_ + "/invites",
                            json{{"role", "doctor"}, {"subject", "dr-subject-1"}});
    ASSERT_EQ(d.status, 201) << d.body;
    tokens_.push_back(d.json().value("token", ""));
    auto p = backend().post("/v1/rooms/" + room_ + "/invites",
                            json{{"role", "patient"},
                                 {"subject", kPatientSubject},
                                 {"consent",
                                  {{"given_by", kPatientSubject},
                                   {"given_at", "2026-01-01T00:00:00Z"},
                                   {"role", "patient"}}}});
    ASSERT_EQ(p.status, 201) << p.body;
    tokens_.push_back(p.json().value("token", ""));
    ASSERT_EQ(backend().get("/v1/rooms/" + room_ + "/invites").status, 200);
    ApiClient(port_, tokens_[1]).get("/v1/rooms/" + room_ + "/info");
    auto admit = ApiClient(port_, tokens_[0]).post("/v1/rooms/" + room_ + "/admit", nullptr);
    ASSERT_EQ(admit.status, 200) << admit.body;
    auto end = backend().post("/v1/rooms/" + room_ + "/end", nullptr);
    ASSERT_EQ(end.status, 200) << end.body;
    // A wrong API key and an unknown path.
    EXPECT_EQ(ApiClient(port_, "not-the-key").get("/v1/rooms").status, 401);
    EXPECT_EQ(backend().get("/v1/no-such-thing").status, 404);
  }

  Scrape scrape(std::string* text = nullptr) {
    auto m = ApiClient(port_, "").get("/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.header("content-type"), "text/plain; version=0.0.4");
    if (text != nullptr) *text = m.body;
    return parseScrape(m.body);
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  uint16_t port_ = 0;
  std::string key_;
  std::string room_;
  std::vector<std::string> tokens_;
};

TEST_F(ObservabilityProcessTest, LiveScrapePassesPromtoolWithSensibleValues) {
  ASSERT_NO_FATAL_FAILURE(runScenario());
  std::string text;
  const Scrape s = scrape(&text);

  const std::string promtool = findPromtool();
  if (!promtool.empty()) {
    const auto file = dir_.path() / "live.prom";
    writeFile(file, text);
    std::string out;
    EXPECT_EQ(runCommand(promtool + " check metrics < " + file.string(), &out), 0) << out;
    EXPECT_EQ(out, "");
  } else {
    ADD_FAILURE() << "promtool not installed: scripts/install-deps.sh test (Debian `prometheus`)";
  }

  // Every family the issue asks for is declared, fed or not.
  for (const char* family : {"medrelay_rooms",
                             "medrelay_participants_connected",
                             "medrelay_consultations_started_total",
                             "medrelay_consultations_ended_total",
                             "medrelay_join_refusals_total",
                             "medrelay_sessions_ended_total",
                             "medrelay_ice_handshakes_total",
                             "medrelay_ice_failures_total",
                             "medrelay_dtls_handshakes_total",
                             "medrelay_dtls_failures_total",
                             "medrelay_media_packets_total",
                             "medrelay_media_bytes_total",
                             "medrelay_media_packets_dropped_total",
                             "medrelay_srtp_errors_total",
                             "medrelay_nacks_total",
                             "medrelay_retransmissions_total",
                             "medrelay_retransmissions_suppressed_total",
                             "medrelay_transport_cc_feedback_total",
                             "medrelay_keyframe_requests_total",
                             "medrelay_event_loop_utilization_ratio",
                             "medrelay_event_loop_lag_seconds",
                             "medrelay_forwarding_latency_seconds",
                             "medrelay_turn_allocations_active",
                             "medrelay_turn_permissions_active",
                             "medrelay_turn_channels_active",
                             "medrelay_turn_relayed_bytes_total",
                             "medrelay_turn_relayed_packets_total",
                             "medrelay_turn_auth_failures_total",
                             "medrelay_turn_quota_refusals_total",
                             "medrelay_http_requests_total",
                             "medrelay_http_request_duration_seconds",
                             "medrelay_access_log_records_total",
                             "medrelay_access_log_fsync_duration_seconds",
                             "medrelay_access_log_write_errors_total",
                             "medrelay_access_log_unhealthy",
                             "medrelay_store_errors_total",
                             "medrelay_api_auth_failures_total",
                             "medrelay_tls_certificate_expiry_timestamp_seconds",
                             "medrelay_filesystem_avail_bytes",
                             "medrelay_filesystem_size_bytes",
                             "medrelay_ready",
                             "process_cpu_seconds_total",
                             "process_resident_memory_bytes",
                             "process_open_fds",
                             "medrelay_build_info"}) {
    EXPECT_EQ(s.types.count(family), 1u) << family;
  }

  EXPECT_EQ(s.value("medrelay_consultations_started_total"), 1);
  EXPECT_EQ(s.value("medrelay_consultations_ended_total"), 1);
  EXPECT_EQ(s.value("medrelay_rooms{state=\"ended\"}"), 1);
  EXPECT_EQ(s.value("medrelay_rooms{state=\"scheduled\"}"), 0);
  EXPECT_EQ(s.value("medrelay_api_auth_failures_total{reason=\"invalid_api_key\"}"), 1);
  // Route labels come from the Router: these two used to fall into "other".
  EXPECT_EQ(s.value("medrelay_http_requests_total{method=\"GET\",route=\"/v1/rooms/{id}/"
                    "invites\",status_class=\"2xx\"}"),
            1);
  EXPECT_EQ(s.value("medrelay_http_requests_total{method=\"POST\",route=\"/v1/rooms/{id}/"
                    "end\",status_class=\"2xx\"}"),
            1);
  EXPECT_EQ(s.value("medrelay_http_requests_total{method=\"POST\",route=\"/v1/rooms\","
                    "status_class=\"2xx\"}"),
            1);
  EXPECT_EQ(s.value("medrelay_http_requests_total{method=\"other\",route=\"other\","
                    "status_class=\"4xx\"}"),
            1);
  // Records: log_reopened/opened, room_created, 2 invites, consultation started/ended, ...
  EXPECT_GE(s.value("medrelay_access_log_records_total"), 6);
  EXPECT_GT(s.value("medrelay_access_log_bytes_total"), 1000);
  EXPECT_GE(s.value("medrelay_access_log_fsync_duration_seconds_count"), 1);
  EXPECT_EQ(s.value("medrelay_access_log_unhealthy"), 0);
  EXPECT_EQ(s.value("medrelay_access_log_write_errors_total{kind=\"write\"}"), 0);
  EXPECT_EQ(s.value("medrelay_ready"), 1);
  EXPECT_EQ(s.value("medrelay_tls_certificate_expiry_timestamp_seconds"), 0);  // no TLS here
  EXPECT_GT(s.value("medrelay_filesystem_avail_bytes{dir=\"data\"}"), 0);
  EXPECT_GE(s.value("medrelay_filesystem_size_bytes{dir=\"access_log\"}"),
            s.value("medrelay_filesystem_avail_bytes{dir=\"access_log\"}"));
  EXPECT_GT(s.value("process_open_fds"), 5);
  EXPECT_GT(s.value("process_resident_memory_bytes"), 1e6);
  // Two workers and the control loop are monitored.
  EXPECT_GE(s.value("medrelay_event_loop_utilization_ratio{worker=\"1\"}"), 0);
  EXPECT_GE(s.value("medrelay_event_loop_utilization_ratio{worker=\"control\"}"), 0);
  // No label value carries a room id or a token.
  EXPECT_EQ(text.find(room_), std::string::npos);
  for (const auto& t : tokens_) EXPECT_EQ(text.find(t), std::string::npos);
}

// Junk on the media port never reaches a session, and every datagram of it is counted by reason
// (docs/operations.md, medrelay_transport_dropped_total).
TEST_F(ObservabilityProcessTest, JunkOnTheMediaPortIsCountedByReason) {
  const std::regex port_re("udp from port ([0-9]+)");
  std::smatch m;
  const std::string out = server_->output();
  ASSERT_TRUE(std::regex_search(out, m, port_re)) << out;
  const auto media_port = static_cast<uint16_t>(std::stoi(m[1]));
  auto dropped = [&](const std::string& reason) {
    double sum = 0;
    for (const auto& [key, v] : scrape().samples) {
      if (key.rfind("medrelay_transport_dropped_total{", 0) == 0 &&
          key.find("reason=\"" + reason + "\"") != std::string::npos) {
        sum += v;
      }
    }
    return sum;
  };
  ASSERT_EQ(dropped("not_stun"), 0);
  ASSERT_EQ(dropped("unknown_ufrag"), 0);

  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(media_port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Five datagrams that are no protocol we serve (RFC 7983 first byte 0xff)...
  const std::string junk(40, '\xff');
  for (int i = 0; i < 5; ++i) {
    ::sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // ...and a Binding request (RFC 8489 §5) naming a ufrag no session has.
  const std::string user = "nosuchufrag:peer";
  std::string stun = {0x00,
                      0x01,
                      0x00,
                      static_cast<char>(4 + 16),  // Binding request, length
                      0x21,
                      0x12,
                      static_cast<char>(0xa4),
                      0x42};                                   // magic cookie
  stun += std::string(12, '\x07');                             // transaction id
  stun += {0x00, 0x06, 0x00, static_cast<char>(user.size())};  // USERNAME
  stun += user;
  ::sendto(fd, stun.data(), stun.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);

  // The counters are copied from the worker once a second.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (dropped("not_stun") < 5 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(dropped("not_stun"), 5);
  EXPECT_EQ(dropped("unknown_ufrag"), 1);
  EXPECT_EQ(dropped("udp_send_error"), 0);
}

TEST_F(ObservabilityProcessTest, DashboardAndAlertsNameOnlyExportedMetrics) {
  const Scrape s = scrape();
  ASSERT_GT(s.types.size(), 30u);

  const json dash =
      json::parse(readFile(sourceDir() + "/configs/grafana/medrelay.json"), nullptr, false);
  ASSERT_FALSE(dash.is_discarded()) << "configs/grafana/medrelay.json is not valid JSON";
  std::vector<std::string> exprs;
  collectExprs(dash["panels"], exprs);
  ASSERT_GE(exprs.size(), 30u);
  std::set<std::string> row_titles;
  for (const auto& p : dash["panels"]) {
    if (p.value("type", "") == "row") row_titles.insert(p.value("title", ""));
  }
  EXPECT_EQ(row_titles,
            (std::set<std::string>{"Overview", "Media", "TURN", "Control plane", "Access log"}));
  bool has_instance_var = false;
  for (const auto& v : dash["templating"]["list"]) {
    if (v.value("name", "") != "instance") continue;
    has_instance_var = true;
    const std::string def = v.value("definition", "");
    const auto open = def.find('(');
    const auto comma = def.find(',');
    ASSERT_NE(comma, std::string::npos);
    EXPECT_TRUE(exported(s, def.substr(open + 1, comma - open - 1))) << def;
  }
  EXPECT_TRUE(has_instance_var);
  std::set<std::string> used;
  for (const auto& e : exprs) {
    const auto names = promqlMetricNames(e);
    EXPECT_FALSE(names.empty()) << e;
    for (const auto& n : names) {
      used.insert(n);
      EXPECT_TRUE(exported(s, n)) << "dashboard query names " << n << ", not exported: " << e;
    }
  }
  // The dashboard shows the main families.
  for (const char* n : {"medrelay_media_packets_total", "medrelay_turn_relayed_bytes_total",
                        "medrelay_http_requests_total", "medrelay_access_log_records_total"}) {
    EXPECT_EQ(used.count(n), 1u) << n;
  }

  const YAML::Node rules = YAML::LoadFile(sourceDir() + "/configs/prometheus/alerts.yml");
  std::set<std::string> alerts;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) {
      const std::string name = rule["alert"].as<std::string>();
      alerts.insert(name);
      EXPECT_TRUE(rule["annotations"]["runbook_url"]) << name;
      const std::string runbook = rule["annotations"]["runbook_url"].as<std::string>();
      const std::string doc = readFile(sourceDir() + "/docs/operations.md");
      const std::string anchor = runbook.substr(runbook.find('#') + 1);
      EXPECT_NE(doc.find("<a id=\"" + anchor + "\"></a>"), std::string::npos)
          << name << ": docs/operations.md has no anchor " << anchor;
      for (const auto& n : promqlMetricNames(rule["expr"].as<std::string>())) {
        if (n == "up") continue;  // Prometheus' own scrape-health series
        EXPECT_TRUE(exported(s, n)) << name << " uses " << n << ", not exported";
      }
    }
  }
  for (const char* a : {"MedrelayNodeDown", "MedrelayWorkersSaturated", "MedrelayEventLoopLagHigh",
                        "MedrelayHandshakeFailureRatioHigh", "MedrelayJoinRefusalsSpike",
                        "MedrelayAccessLogWriteErrors", "MedrelayDataDiskNearlyFull",
                        "MedrelayTurnAuthFailureSpike", "MedrelayCertificateExpiringSoon"}) {
    EXPECT_EQ(alerts.count(a), 1u) << a;
  }
}

TEST(PromqlNamesTest, TokenizerSkipsFunctionsLabelsAndKeywords) {
  EXPECT_EQ(promqlMetricNames(
                "histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{x=\"y\"}[5m])))"),
            (std::set<std::string>{"a_bucket"}));
  EXPECT_EQ(promqlMetricNames("b > 0 and b - time() < 14 * 86400 unless on (job) c offset 5m"),
            (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(promqlMetricNames("1 - rate(d{worker!=\"control\",instance=~\"$instance\"}[5m])"),
            (std::set<std::string>{"d"}));
  EXPECT_EQ(promqlMetricNames("sum by (role) (e) / max without (x) (f)"),
            (std::set<std::string>{"e", "f"}));
}

TEST_F(ObservabilityProcessTest, JsonLogsCarryContextButNoSecretsOrPersonalData) {
  ASSERT_NO_FATAL_FAILURE(runScenario());
  // The policy lines are written when the records are queued; give the writer a moment.
  ASSERT_TRUE(server_->waitForOutput("consultation_ended")) << server_->output();
  server_->signal(SIGTERM);
  ASSERT_EQ(server_->waitExit(milliseconds(10000)), 0) << server_->output();
  const std::string out = server_->output();

  size_t lines = 0;
  bool started_with_room = false;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    ++lines;
    for (const char* field : {"ts", "level", "component", "msg"}) {
      EXPECT_TRUE(j.contains(field)) << line;
    }
    if (j.value("msg", "") == "consultation_started") {
      EXPECT_EQ(j.value("component", ""), "policy");
      started_with_room = j.value("room", "") == room_;
    }
    EXPECT_FALSE(j.contains("subject")) << line;
  }
  EXPECT_GT(lines, 5u);
  EXPECT_TRUE(started_with_room) << out;
  for (const auto& t : tokens_) {
    ASSERT_FALSE(t.empty());
    EXPECT_EQ(out.find(t), std::string::npos) << "an invite token is in the log";
  }
  EXPECT_EQ(out.find(key_), std::string::npos) << "the API key is in the log";
  EXPECT_EQ(out.find(kDoctorName), std::string::npos) << "the doctor's name is in the log";
  EXPECT_EQ(out.find(kPatientSubject), std::string::npos) << "a subject is in the log";
}

}  // namespace
}  // namespace medrelay::test
