// The rendered text against the outside world: promtool's parser and linter, and the metrics
// reference in docs/operations.md.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "control/metrics/loop_monitor.h"
#include "control/metrics/metrics.h"
#include "exposition_text.h"
#include "net/dispatcher.h"
#include "tests/support/test_support.h"

namespace medrelay::metrics {
namespace {

using test::parseExposition;

// A registry with everything populated: two workers, a loop monitor, samples in each histogram.
std::string renderPopulated() {
  Metrics metrics;
  net::Dispatcher control("control");
  LoopMonitor monitor(control, metrics, "control");
  for (const char* name : {"0", "1"}) {
    WorkerMetrics& w = metrics.addWorker(name);
    w.media.received(PacketKind::kRtp, 1200);
    w.media.forwarded(42'000);
    w.turn.relayed(Direction::kIn, 300);
  }
  metrics.http().declareRoutes({{"POST", "/v1/rooms"}, {"GET", "/v1/rooms/{id}"}});
  metrics.http().record("POST /v1/rooms", 201, 0.002);
  metrics.policy().onAccessRecord("participant_joined", "doctor", "");
  metrics.policy().joinCompleted(1.5);
  metrics.accessLog().fsynced(0.004);
  return metrics.render();
}

std::string findPromtool() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const auto p = std::filesystem::path(dir) / "promtool";
    if (std::filesystem::exists(p)) return p.string();
  }
  return {};
}

TEST(MetricsExpositionTest, PassesPromtoolCheckMetrics) {
  const std::string promtool = findPromtool();
  if (promtool.empty()) {
    GTEST_SKIP() << "promtool not installed: run scripts/install-deps.sh test (Debian package "
                    "`prometheus`)";
  }
  medrelay::test::TempDir dir;
  const auto file = dir.path() / "metrics.prom";
  medrelay::test::writeFile(file, renderPopulated());
  // promtool prints lint problems and exits non-zero on any of them, or on a parse error.
  const std::string cmd = promtool + " check metrics < " + file.string() + " 2>&1";
  std::FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
  const int status = pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_EQ(output, "");
}

TEST(MetricsExpositionTest, PromtoolRejectsABrokenExposition) {
  // Guards the test above: promtool must actually judge what it is fed.
  const std::string promtool = findPromtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed";
  medrelay::test::TempDir dir;
  const auto file = dir.path() / "bad.prom";
  medrelay::test::writeFile(file,
                            "# TYPE medrelay_bad counter\nmedrelay_bad 1\n");  // no _total, no HELP
  const std::string cmd = promtool + " check metrics < " + file.string() + " >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
}

TEST(MetricsExpositionTest, ExampleScrapeConfigIsValid) {
  const std::string promtool = findPromtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed";
  const std::string cmd = promtool + " check config " + medrelay::test::sourceDir() +
                          "/configs/prometheus/scrape.yml >/dev/null 2>&1";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

struct DocRow {
  std::string type;
  std::set<std::string> labels;
};

std::vector<std::string> splitCells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      const auto b = cell.find_first_not_of(' ');
      const auto e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

std::set<std::string> splitList(const std::string& s) {
  std::set<std::string> out;
  if (s == "—") return out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(' ');
    if (b != std::string::npos) out.insert(item.substr(b));
  }
  return out;
}

// Rows of the reference table: | `name` | type | labels | meaning |
std::map<std::string, DocRow> docReference(const std::string& doc) {
  std::map<std::string, DocRow> rows;
  std::istringstream in(doc);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    const auto cells = splitCells(line);
    if (cells.size() != 4 || cells[0].size() < 3) continue;
    rows[cells[0].substr(1, cells[0].size() - 2)] = {cells[1], splitList(cells[2])};
  }
  return rows;
}

TEST(MetricsExpositionTest, DocsReferenceListsExactlyTheRenderedFamilies) {
  const std::string doc =
      medrelay::test::readFile(medrelay::test::sourceDir() + "/docs/operations.md");
  ASSERT_FALSE(doc.empty());
  const auto rows = docReference(doc);
  const auto e = parseExposition(renderPopulated());
  ASSERT_TRUE(e.errors.empty());
  for (const auto& [name, family] : e.families) {
    SCOPED_TRACE(name);
    auto it = rows.find(name);
    ASSERT_NE(it, rows.end()) << "add it to the reference table in docs/operations.md";
    EXPECT_EQ(it->second.type, family.type);
    EXPECT_EQ(it->second.labels, family.labelNames());
  }
  for (const auto& [name, row] : rows) {
    EXPECT_EQ(e.families.count(name), 1u) << name << " is documented but not exported";
  }
}

template <typename E>
void expectDocumentedSet(const std::string& doc, const std::string& set) {
  SCOPED_TRACE(set);
  std::istringstream in(doc);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| " + set + " |", 0) != 0) continue;
    const auto cells = splitCells(line);
    ASSERT_EQ(cells.size(), 3u);
    EXPECT_EQ(cells[1], "`" + std::string(labelName<E>()) + "`");
    std::vector<std::string> declared;
    for (auto v : LabelTraits<E>::kValues) declared.emplace_back(v);
    std::vector<std::string> documented;
    std::stringstream values(cells[2]);
    std::string item;
    while (std::getline(values, item, ','))
      documented.push_back(item.substr(item.find_first_not_of(' ')));
    EXPECT_EQ(documented, declared);
    return;
  }
  ADD_FAILURE() << "no row for " << set << " in the label values table";
}

TEST(MetricsExpositionTest, DocsLabelValuesMatchTheDeclaredSets) {
  const std::string doc =
      medrelay::test::readFile(medrelay::test::sourceDir() + "/docs/operations.md");
  expectDocumentedSet<Role>(doc, "Role");
  expectDocumentedSet<RoomState>(doc, "RoomState");
  expectDocumentedSet<JoinRefusal>(doc, "JoinRefusal");
  expectDocumentedSet<SessionEndReason>(doc, "SessionEndReason");
  expectDocumentedSet<Transport>(doc, "Transport");
  expectDocumentedSet<Direction>(doc, "Direction");
  expectDocumentedSet<PacketKind>(doc, "PacketKind");
  expectDocumentedSet<KeyframeRequest>(doc, "KeyframeRequest");
  expectDocumentedSet<DropReason>(doc, "DropReason");
  expectDocumentedSet<TransportDrop>(doc, "TransportDrop");
  expectDocumentedSet<SrtpError>(doc, "SrtpError");
  expectDocumentedSet<IceFailure>(doc, "IceFailure");
  expectDocumentedSet<DtlsFailure>(doc, "DtlsFailure");
  expectDocumentedSet<DataChannelRefusal>(doc, "DataChannelRefusal");
  expectDocumentedSet<TurnAuthFailure>(doc, "TurnAuthFailure");
  expectDocumentedSet<TurnQuota>(doc, "TurnQuota");
  expectDocumentedSet<StatusClass>(doc, "StatusClass");
  expectDocumentedSet<AccessLogError>(doc, "AccessLogError");
  expectDocumentedSet<StoreError>(doc, "StoreError");
  expectDocumentedSet<ClusterNodeState>(doc, "ClusterNodeState");
  expectDocumentedSet<ClusterPlacement>(doc, "ClusterPlacement");
  expectDocumentedSet<LeaseConflict>(doc, "LeaseConflict");
  expectDocumentedSet<ApiAuthFailure>(doc, "ApiAuthFailure");
  expectDocumentedSet<DataDir>(doc, "DataDir");
}

}  // namespace
}  // namespace medrelay::metrics
