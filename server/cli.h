#pragma once

namespace medrelay::server {

// The medrelay command line: `medrelay <subcommand> …` runs an entry of the subcommand table
// (server/subcommands.h); anything else starts (or checks) the server. Returns the exit code:
// 0 ok, 1 runtime failure, 2 invalid configuration or usage.
int runMain(int argc, char** argv);

// The server itself: --config, --set, --check-config, --print-config, --version, --help.
int runServe(int argc, char** argv);

}  // namespace medrelay::server
