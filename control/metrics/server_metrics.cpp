#include "control/metrics/server_metrics.h"

#include <openssl/asn1.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/statvfs.h>

#include <cstdio>
#include <ctime>

#include "common/c_ptr.h"
#include "control/metrics/exposition.h"

namespace medrelay::metrics {
namespace {

void closeFile(FILE* f) {
  std::fclose(f);
}

}  // namespace

ServerMetrics::ServerMetrics(prometheus::Registry& registry) {
  fs_avail_ = resolveAll<DataDir>(
      prometheus::BuildGauge()
          .Name("medrelay_filesystem_avail_bytes")
          .Help("Bytes available to the server on the filesystem of each directory it writes.")
          .Register(registry),
      {});
  fs_size_ = resolveAll<DataDir>(prometheus::BuildGauge()
                                     .Name("medrelay_filesystem_size_bytes")
                                     .Help("Size of the filesystem of each directory it writes.")
                                     .Register(registry),
                                 {});
  ready_ = &prometheus::BuildGauge()
                .Name("medrelay_ready")
                .Help("1 when /readyz answers 200 (started, not draining, every check passing).")
                .Register(registry)
                .Add({});
  cert_expiry_ = &prometheus::BuildGauge()
                      .Name("medrelay_tls_certificate_expiry_timestamp_seconds")
                      .Help(
                          "notAfter of the HTTP listener's TLS certificate (Unix seconds); 0 "
                          "without TLS.")
                      .Register(registry)
                      .Add({});
}

bool ServerMetrics::updateFilesystem(DataDir dir, const std::string& path) {
  struct statvfs st {};
  if (path.empty() || ::statvfs(path.c_str(), &st) != 0) return false;
  const double frsize = static_cast<double>(st.f_frsize);
  fs_avail_[dir]->Set(static_cast<double>(st.f_bavail) * frsize);
  fs_size_[dir]->Set(static_cast<double>(st.f_blocks) * frsize);
  return true;
}

std::optional<double> certificateNotAfter(const std::string& pem_path) {
  CPtr<FILE, closeFile> file(std::fopen(pem_path.c_str(), "r"));
  if (!file) return std::nullopt;
  CPtr<X509, X509_free> cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr));
  if (!cert) return std::nullopt;
  const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
  struct tm tm {};
  if (not_after == nullptr || ASN1_TIME_to_tm(not_after, &tm) != 1) return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

}  // namespace medrelay::metrics
