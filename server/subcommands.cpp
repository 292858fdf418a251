#include "server/subcommands.h"

#include <iostream>
#include <string>

#include "control/audit_cli.h"
#include "server/api_key.h"

namespace medrelay::server {
namespace {

constexpr Subcommand kSubcommands[] = {
    {"hash-key", "read an API key on stdin, print its SHA-256 for api.keys_sha256", &hashKeyMain},
    {"gen-key", "print a new random API key and its SHA-256", &genKeyMain},
    {"audit", "verify or list access-log records (audit verify DIR | audit show ...)",
     &control::runAuditCli},
};

bool wantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}

}  // namespace

std::span<const Subcommand> subcommands() {
  return kSubcommands;
}

const Subcommand* findSubcommand(std::string_view name) {
  for (const auto& s : kSubcommands) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

int hashKeyMain(int argc, char** argv) {
  if (wantsHelp(argc, argv) || argc > 1) {
    std::cerr << "usage: medrelay hash-key < key-file\n"
                 "Reads an API key (first line of stdin) and prints its SHA-256 for "
                 "api.keys_sha256.\n";
    return argc > 1 && !wantsHelp(argc, argv) ? 2 : 0;
  }
  std::string key;
  std::getline(std::cin, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) {
    std::cerr << "medrelay hash-key: no key on stdin\n";
    return 2;
  }
  std::cout << sha256Hex(key) << "\n";
  return 0;
}

int genKeyMain(int argc, char** argv) {
  if (wantsHelp(argc, argv) || argc > 1) {
    std::cerr << "usage: medrelay gen-key\nPrints a new API key and the SHA-256 to put in "
                 "api.keys_sha256.\n";
    return argc > 1 && !wantsHelp(argc, argv) ? 2 : 0;
  }
  std::string key = generateApiKey();
  std::cout << "key: " << key << "\nsha256: " << sha256Hex(key) << "\n";
  return 0;
}

}  // namespace medrelay::server
