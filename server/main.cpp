// Placeholder entry point; replaced by the server process work (config, workers, HTTP).
#include <cstdio>

#include "build_info.h"

int main() {
  std::printf("medrelay %s\n", medrelay::kVersion);
  return 0;
}
