// Access-log append throughput, records/s: with fdatasync (durable) and without it (a file layer
// whose fdatasync does nothing: the cost of formatting, MAC and write alone). "Sync" appends
// one record at a time; "Burst" queues 256 before waiting, so group commit shares fdatasyncs.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <future>

#include "control/access_log.h"
#include "net/dispatcher.h"

namespace medrelay::control {
namespace {

class NoSyncFiles final : public AccessLogFileLayer {
 public:
  int open(const std::string& path, int flags, int mode) override {
    return real_->open(path, flags, mode);
  }
  ssize_t write(int fd, const char* data, size_t len) override {
    return real_->write(fd, data, len);
  }
  int fdatasync(int) override { return 0; }
  int ftruncate(int fd, off_t length) override { return real_->ftruncate(fd, length); }
  int close(int fd) override { return real_->close(fd); }
  int rename(const std::string& a, const std::string& b) override { return real_->rename(a, b); }
  int fsyncDir(const std::string&) override { return 0; }

 private:
  std::shared_ptr<AccessLogFileLayer> real_ = posixFileLayer();
};

struct BenchDir {
  BenchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mr-alog-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

AccessRecord sample(int i) {
  AccessRecord r;
  r.event = AccessEvent::kParticipantJoined;
  r.room = "room-0001";
  r.invite = "inv-" + std::to_string(i);
  r.role = "patient";
  r.subject = "subj-0001";
  r.session = "sess-" + std::to_string(i);
  r.remote = "192.0.2.1:50000";
  r.transport = "udp";
  return r;
}

std::unique_ptr<AccessLog> openLog(const BenchDir& dir, bool durable, net::Dispatcher* d) {
  AccessLogOptions o;
  o.dir = dir.path / "log";
  o.node_id = "bench";
  std::array<uint8_t, kAccessLogKeyBytes> key{};
  o.key = AccessLogKey::fromBytes(key);
  o.rotate_daily = false;
  if (!durable) o.files = std::make_shared<NoSyncFiles>();
  auto log = AccessLog::open(std::move(o), d);
  return log.ok() ? std::move(log).value() : nullptr;
}

void BM_AccessLogAppendSync(benchmark::State& state) {
  BenchDir dir;
  auto log = openLog(dir, state.range(0) != 0, nullptr);
  if (!log) {
    state.SkipWithError("cannot open log");
    return;
  }
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(log->appendSync(sample(i++)).ok());
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(0) != 0 ? "fdatasync" : "no-sync");
}
BENCHMARK(BM_AccessLogAppendSync)->Arg(1)->Arg(0)->UseRealTime();

void BM_AccessLogAppendBurst(benchmark::State& state) {
  constexpr int kBurst = 256;
  BenchDir dir;
  net::DispatcherThread control("control");
  auto log = openLog(dir, state.range(0) != 0, &control.dispatcher());
  if (!log) {
    state.SkipWithError("cannot open log");
    return;
  }
  int i = 0;
  for (auto _ : state) {
    std::atomic<int> left{kBurst};
    std::promise<void> done;
    for (int k = 0; k < kBurst; ++k) {
      log->append(sample(i++), [&](Result<uint64_t>) {
        if (--left == 0) done.set_value();
      });
    }
    done.get_future().wait();
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["fdatasyncs_per_record"] =
      static_cast<double>(log->stats().fdatasyncs) / static_cast<double>(log->stats().records);
  state.SetLabel(state.range(0) != 0 ? "fdatasync" : "no-sync");
}
BENCHMARK(BM_AccessLogAppendBurst)->Arg(1)->Arg(0)->UseRealTime();

}  // namespace
}  // namespace medrelay::control
