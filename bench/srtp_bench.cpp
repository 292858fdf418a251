// SRTP protect/unprotect per profile and packet size, session creation, and the ceiling: raw
// OpenSSL AES-128-GCM over the same bytes in the same run (docs/srtp.md).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "common/assert.h"
#include "media/srtp_session.h"

namespace medrelay::media {
namespace {

constexpr size_t kRing = 4096;  // distinct packets for unprotect (replay protection)

SrtpProfile profileArg(const benchmark::State& state) {
  return static_cast<SrtpProfile>(state.range(0));
}

SrtpMasterKey benchKey(SrtpProfile profile) {
  const auto& p = srtpProfileParams(profile);
  std::vector<uint8_t> key(p.keyLength, 0x5a), salt(p.saltLength, 0xa5);
  return SrtpMasterKey(key, salt);
}

SrtpSession session(SrtpSession::Kind dir, SrtpProfile profile) {
  auto s = SrtpSession::create(dir, profile, benchKey(profile));
  MEDRELAY_ASSERT(s.ok(), "SrtpSession::create failed");
  return std::move(s).value();
}

// An RTP packet of `size` bytes in total (12-byte header).
void writeRtp(uint8_t* p, size_t size, uint16_t seq) {
  std::memset(p, 0x33, size);
  p[0] = 0x80;
  p[1] = 96;
  p[2] = static_cast<uint8_t>(seq >> 8);
  p[3] = static_cast<uint8_t>(seq);
  p[8] = 0x12;
  p[9] = 0x34;
  p[10] = 0x56;
  p[11] = 0x78;
}

void label(benchmark::State& state, size_t size) {
  state.SetLabel(std::string(srtpProfileParams(profileArg(state)).name));
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

void BM_SrtpProtectRtp(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(1));
  auto out = session(SrtpSession::Kind::kOutbound, profileArg(state));
  std::vector<uint8_t> plain(size), buf(size + 64);
  writeRtp(plain.data(), size, 0);
  uint16_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buf.data(), plain.data(), size);
    ++seq;
    buf[2] = static_cast<uint8_t>(seq >> 8);
    buf[3] = static_cast<uint8_t>(seq);
    size_t len = size;
    if (!out.protectRtp(buf.data(), len, buf.size())) state.SkipWithError("protect failed");
    benchmark::DoNotOptimize(buf.data());
  }
  label(state, size);
}

void BM_SrtpUnprotectRtp(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(1));
  const auto profile = profileArg(state);
  auto out = session(SrtpSession::Kind::kOutbound, profile);
  const size_t stride = size + 64;
  std::vector<uint8_t> wire(kRing * stride);
  std::vector<size_t> lens(kRing);
  for (size_t i = 0; i < kRing; ++i) {
    uint8_t* p = wire.data() + i * stride;
    writeRtp(p, size, static_cast<uint16_t>(i));
    lens[i] = size;
    MEDRELAY_ASSERT(out.protectRtp(p, lens[i], stride), "protect failed");
  }
  auto in = session(SrtpSession::Kind::kInbound, profile);
  std::vector<uint8_t> buf(stride);
  size_t i = 0;
  for (auto _ : state) {
    if (i == kRing) {  // every packet seen: a fresh receiver, outside the timing
      state.PauseTiming();
      in = session(SrtpSession::Kind::kInbound, profile);
      i = 0;
      state.ResumeTiming();
    }
    std::memcpy(buf.data(), wire.data() + i * stride, lens[i]);
    size_t len = lens[i];
    ++i;
    if (!in.unprotectRtp(buf.data(), len)) state.SkipWithError("unprotect failed");
    benchmark::DoNotOptimize(buf.data());
  }
  label(state, size);
}

// What joining costs: one session per direction per participant (srtp_create + srtp_dealloc).
void BM_SrtpCreateSession(benchmark::State& state) {
  const auto profile = profileArg(state);
  const auto key = benchKey(profile);
  for (auto _ : state) {
    auto s = SrtpSession::create(SrtpSession::Kind::kInbound, profile, key);
    benchmark::DoNotOptimize(s.ok());
  }
  state.SetLabel(std::string(srtpProfileParams(profile).name) + " " + std::string(srtpBackend()));
  state.SetItemsProcessed(state.iterations());
}

// Ceiling: AES-128-GCM seal of the payload with a 12-byte header as AAD and a 16-byte tag, no SRTP
// bookkeeping, one reused context (a new IV per packet).
void BM_SrtpCeilingOpensslAes128Gcm(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 12> iv{};
  std::vector<uint8_t> buf(size + 16, 0x33);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key.data(), nullptr);
  uint32_t counter = 0;
  for (auto _ : state) {
    std::memcpy(iv.data() + 8, &++counter, 4);
    int n = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data());
    EVP_EncryptUpdate(ctx, nullptr, &n, buf.data(), 12);
    EVP_EncryptUpdate(ctx, buf.data() + 12, &n, buf.data() + 12, static_cast<int>(size - 12));
    EVP_EncryptFinal_ex(ctx, buf.data() + size, &n);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf.data() + size);
    benchmark::DoNotOptimize(buf.data());
  }
  EVP_CIPHER_CTX_free(ctx);
  state.SetLabel("raw OpenSSL");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
}

// range(0): SrtpProfile (0 CM-80, 1 CM-32, 2 GCM-128, 3 GCM-256); range(1): RTP packet bytes.
BENCHMARK(BM_SrtpProtectRtp)->ArgsProduct({{0, 1, 2, 3}, {200, 1200}});
BENCHMARK(BM_SrtpUnprotectRtp)->ArgsProduct({{0, 1, 2, 3}, {200, 1200}});
BENCHMARK(BM_SrtpCreateSession)->Arg(0)->Arg(2);
BENCHMARK(BM_SrtpCeilingOpensslAes128Gcm)->Arg(200)->Arg(1200);  // range(0): bytes

}  // namespace
}  // namespace medrelay::media
