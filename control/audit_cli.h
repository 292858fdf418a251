#pragma once

namespace medrelay::control {

// `medrelay audit ...` (argv[0] is "audit"):
//   audit verify <file-or-dir> [--key FILE]...   exit 0 with a one-line summary when the chain is
//                                                valid, 1 with the first bad record otherwise
//   audit show [--dir DIR] [--room ID] [--since TIME] [--after-seq N] [--limit N]
// Without --key, verify uses <dir>/../access-log.key and the retired keys beside it.
int runAuditCli(int argc, char** argv);

}  // namespace medrelay::control
