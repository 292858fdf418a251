#pragma once

#include <cstdio>
#include <cstdlib>

// Impossible states terminate with context (docs/architecture.md, "Errors"). Never used for input
// validation: bad input is a counted drop on the packet path and a JSON error on the control path.
#define MEDRELAY_ASSERT(cond, msg)                                                               \
  do {                                                                                           \
    if (!(cond)) [[unlikely]] {                                                                  \
      std::fprintf(stderr, "medrelay: assertion failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                   #cond, msg);                                                                  \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)
