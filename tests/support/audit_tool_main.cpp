// Test stand-in for `medrelay audit ...` until the integrator hooks runAuditCli into the binary.
#include "control/audit_cli.h"

int main(int argc, char** argv) {
  return medrelay::control::runAuditCli(argc, argv);
}
