#pragma once

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <optional>
#include <string>

#include "common/counters/label_set.h"
#include "control/metrics/labels.h"

namespace medrelay::metrics {

// Whole-server gauges for the operator's alerts: readiness, the HTTP TLS certificate's expiry
// and the free space of the directories the server writes. Set by the server (certificate at
// start and SIGHUP reload, the rest at scrape time), control thread.
class ServerMetrics {
 public:
  explicit ServerMetrics(prometheus::Registry& registry);

  void setReady(bool ready) { ready_->Set(ready ? 1 : 0); }
  // notAfter of the certificate the HTTP listener serves, seconds since the Unix epoch; 0 when
  // the listener has no TLS.
  void setCertificateExpiry(double unix_seconds) { cert_expiry_->Set(unix_seconds); }
  // statvfs(3) of `path`: bytes available to unprivileged users and the filesystem size. Both
  // stay at their last value when the call fails. False on failure.
  bool updateFilesystem(DataDir dir, const std::string& path);

  prometheus::Gauge& ready() { return *ready_; }
  prometheus::Gauge& certificateExpiry() { return *cert_expiry_; }
  prometheus::Gauge& filesystemAvail(DataDir dir) { return *fs_avail_[dir]; }
  prometheus::Gauge& filesystemSize(DataDir dir) { return *fs_size_[dir]; }

 private:
  // Sorted by family name.
  ByLabel<DataDir, prometheus::Gauge*> fs_avail_;  // medrelay_filesystem_avail_bytes
  ByLabel<DataDir, prometheus::Gauge*> fs_size_;   // medrelay_filesystem_size_bytes
  prometheus::Gauge* ready_;                       // medrelay_ready
  prometheus::Gauge* cert_expiry_;  // medrelay_tls_certificate_expiry_timestamp_seconds
};

// notAfter of the first certificate in a PEM file, seconds since the Unix epoch; nullopt when
// the file cannot be read or parsed.
std::optional<double> certificateNotAfter(const std::string& pem_path);

}  // namespace medrelay::metrics
