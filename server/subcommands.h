#pragma once

#include <span>
#include <string_view>

namespace medrelay::server {

// A subcommand of the medrelay binary: `medrelay <name> args…` calls run(argc, argv) with argv[0]
// set to the name. Returns the process exit code. To add one, write the function next to its
// component and add an entry to the table in server/subcommands.cpp, e.g.
// {"audit", "verify the access log's hash chain", &control::auditMain}.
struct Subcommand {
  std::string_view name;
  std::string_view summary;
  int (*run)(int argc, char** argv);
};

std::span<const Subcommand> subcommands();
const Subcommand* findSubcommand(std::string_view name);

// Built-in subcommands.
// `medrelay hash-key`: reads an API key from stdin (first line), prints its hex SHA-256 for
// api.keys_sha256. The key is never taken from argv, where `ps` and shell history would see it.
int hashKeyMain(int argc, char** argv);
// `medrelay gen-key`: prints a new random API key and its SHA-256.
int genKeyMain(int argc, char** argv);

}  // namespace medrelay::server
