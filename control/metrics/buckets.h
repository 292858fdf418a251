#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/counters/media_counters.h"

// Histogram bucket upper bounds, in seconds (Prometheus base unit). Roughly 1-2.5-5 steps so that
// histogram_quantile() interpolates within ~2x across the range each histogram is meant for.
namespace medrelay::metrics::buckets {

// Receive-to-send inside the relay (kForwardingLatencyNs) is declared with the packet path's
// counters in common/counters/media_counters.h.

// HTTP request handling, request line parsed to response written: 0.5 ms ... 10 s.
inline const std::vector<double> kHttpRequestSeconds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Access-log fdatasync: 100 us ... 1 s.
inline const std::vector<double> kFsyncSeconds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

// Cluster store (Redis) round trips: 100 us ... 1 s.
inline const std::vector<double> kClusterStoreSeconds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};

// Join: WHIP/WHEP POST accepted to DTLS connected: 50 ms ... 30 s.
inline const std::vector<double> kJoinSeconds = {0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30};

// A session's link quality reports (every 2 s): media rate 4 kB/s (32 kbit/s) ... 500 kB/s
// (4 Mbit/s), fraction lost 0.1 % ... 50 %, round trip 5 ms ... 2 s.
inline const std::vector<double> kLinkBytesPerSecond = {4e3,  8e3,   16e3,  32e3,  64e3,
                                                        96e3, 150e3, 250e3, 375e3, 500e3};
inline const std::vector<double> kLinkLossRatio = {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5};
inline const std::vector<double> kLinkRttSeconds = {0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.2,   0.4,  0.8,   2};

// Event-loop lag (how late a periodic timer fires): 1 ms ... 5 s.
inline const std::vector<double> kLoopLagSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1,    2.5,   5};

}  // namespace medrelay::metrics::buckets
