// SQLite store write latency on the control thread (WAL, synchronous=FULL): one committed write
// per iteration — a session insert, a room update, and the invite insert (invite + consent in one
// transaction). Reads (inviteByHash, the lookup on every join) for comparison. Reports µs per
// operation; the counters give the store's own mean and max per write.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "control/sqlite_store.h"

namespace medrelay::control {
namespace {

struct StoreDir {
  StoreDir() {
    // Under the build tree, not /tmp (often tmpfs, where fsync costs nothing).
    std::string tmpl = (std::filesystem::current_path() / "mr-store-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~StoreDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

Room benchRoom(const std::string& id) {
  Room r;
  r.id = id;
  r.scheduled_start_us = 1'800'000'000'000'000;
  r.opens_at_us = r.scheduled_start_us - 3'600'000'000;
  r.closes_at_us = r.scheduled_start_us + 86'400'000'000;
  r.institution_id = "c1";
  r.institution_contact = "tel";
  r.doctor_display_name = "Dr";
  return r;
}

void report(benchmark::State& state, const SqliteStore& store) {
  const auto& s = store.stats();
  if (s.writes > 0) {
    state.counters["mean_write_us"] =
        static_cast<double>(s.write_us) / static_cast<double>(s.writes);
    state.counters["max_write_us"] = static_cast<double>(s.max_write_us);
  }
}

void BM_StoreSessionInsert(benchmark::State& state) {
  StoreDir dir;
  auto store = SqliteStore::open(dir.path / "state.db").value();
  (void)store->insertRoom(benchRoom("rm_1"));
  uint64_t n = 0;
  for (auto _ : state) {
    Session s;
    s.id = "ses_" + std::to_string(n++);
    s.room_id = "rm_1";
    s.invite_id = "inv_1";
    s.subject = "pat-1";
    if (!store->insertSession(s).ok()) state.SkipWithError("insert failed");
  }
  report(state, *store);
}
BENCHMARK(BM_StoreSessionInsert)->Unit(benchmark::kMicrosecond);

void BM_StoreRoomUpdate(benchmark::State& state) {
  StoreDir dir;
  auto store = SqliteStore::open(dir.path / "state.db").value();
  Room room = benchRoom("rm_1");
  (void)store->insertRoom(room);
  for (auto _ : state) {
    room.admitted_us++;
    if (!store->updateRoom(room).ok()) state.SkipWithError("update failed");
  }
  report(state, *store);
}
BENCHMARK(BM_StoreRoomUpdate)->Unit(benchmark::kMicrosecond);

void BM_StoreInviteInsertWithConsent(benchmark::State& state) {
  StoreDir dir;
  auto store = SqliteStore::open(dir.path / "state.db").value();
  (void)store->insertRoom(benchRoom("rm_1"));
  uint64_t n = 0;
  for (auto _ : state) {
    Invite inv;
    inv.id = "inv_" + std::to_string(n);
    inv.room_id = "rm_1";
    inv.role = Role::kSupporter;
    inv.subject = "f";
    inv.token_hash = std::to_string(n++);
    inv.consent = ConsentRecord{"pat-1", 1, Role::kSupporter};
    if (!store->insertInvite(inv).ok()) state.SkipWithError("insert failed");
  }
  report(state, *store);
}
BENCHMARK(BM_StoreInviteInsertWithConsent)->Unit(benchmark::kMicrosecond);

void BM_StoreInviteLookupByHash(benchmark::State& state) {
  StoreDir dir;
  auto store = SqliteStore::open(dir.path / "state.db").value();
  (void)store->insertRoom(benchRoom("rm_1"));
  for (int i = 0; i < 1000; ++i) {
    Invite inv;
    inv.id = "inv_" + std::to_string(i);
    inv.room_id = "rm_1";
    inv.token_hash = "h" + std::to_string(i);
    (void)store->insertInvite(inv);
  }
  int i = 0;
  for (auto _ : state) {
    auto r = store->inviteByHash("h" + std::to_string(i++ % 1000));
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_StoreInviteLookupByHash)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace medrelay::control
