#include "server/cli.h"

int main(int argc, char** argv) {
  return medrelay::server::runMain(argc, argv);
}
