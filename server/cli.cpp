#include "server/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "build_info.h"
#include "common/logging.h"
#include "server/app.h"
#include "server/bootstrap.h"
#include "server/components.h"
#include "server/config.h"
#include "server/subcommands.h"

namespace medrelay::server {
namespace {

std::string versionString() {
  return std::string("medrelay ") + kVersion + " (" + kBuildType + " build)";
}

std::string subcommandHelp() {
  std::string s = "Subcommands (medrelay <subcommand> --help):\n";
  for (const auto& sc : subcommands()) {
    s += "  " + std::string(sc.name) +
         std::string(sc.name.size() < 12 ? 12 - sc.name.size() : 1, ' ') + std::string(sc.summary) +
         "\n";
  }
  s += "\nExit codes: 0 ok, 1 runtime failure, 2 invalid configuration or usage.";
  return s;
}

// "127.0.0.1:40000-40003" for the per-worker media ports.
std::string portRange(const std::string& ip, uint32_t first, uint32_t count) {
  std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
  if (count <= 1) return host + ":" + std::to_string(first);
  return host + ":" + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

void logStartup(const Config& c, const BootstrapReport& b, const std::string& config_file) {
  auto logger = log::get("main");
  MR_LOG_INFO(logger, "{} node {} config {}", versionString(), c.node.id,
              config_file.empty() ? std::string("(embedded defaults)") : config_file);
  MR_LOG_INFO(logger, "http.listen {} ({})", c.http.listen,
              c.http.tls_cert.empty() ? "plain HTTP" : "HTTPS");
  std::string media = "udp " + portRange(c.media.listen_ip, c.media.udp_port, c.effectiveWorkers());
  if (c.media.tcp_port != 0)
    media += ", ice-tcp " + portRange(c.media.listen_ip, c.media.tcp_port, 1);
  if (!c.media.announced_ip.empty()) media += ", announced as " + c.media.announced_ip;
  MR_LOG_INFO(logger, "media {} ({} worker(s))", media, c.effectiveWorkers());
  if (c.turn.enabled) {
    std::string turn;
    if (!c.turn.udp_listen.empty()) turn += " udp " + c.turn.udp_listen;
    if (!c.turn.tcp_listen.empty()) turn += " tcp " + c.turn.tcp_listen;
    if (!c.turn.tls_listen.empty()) turn += " tls " + c.turn.tls_listen;
    MR_LOG_INFO(logger, "turn{} realm {}", turn, c.turn.realm);
  } else {
    MR_LOG_INFO(logger, "turn disabled");
  }
  MR_LOG_INFO(logger, "data dir {}; access log {}", b.data_dir, c.access_log.dir);
  if (!b.api_key_file.empty()) MR_LOG_INFO(logger, "API key file: {}", b.api_key_file);
}

}  // namespace

int runServe(int argc, char** argv) {
  CLI::App cli{"medrelay: WebRTC SFU and TURN relay for online medical consultations", "medrelay"};
  std::string config_file;
  std::string check_file;
  std::vector<std::string> sets;
  bool print_config = false;
  bool print_routes = false;
  cli.add_option("-c,--config", config_file, "YAML configuration file")->option_text("FILE");
  cli.add_option("--set", sets, "Override a setting, e.g. --set http.listen=0.0.0.0:8443")
      ->option_text("SECTION.KEY=VALUE (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* check = cli.add_option("--check-config", check_file,
                               "Validate FILE (with the environment and --set), print every error "
                               "as FILE:LINE: setting: message, exit 2 on errors")
                    ->option_text("FILE");
  cli.add_flag("--print-config", print_config,
               "Print the effective configuration as YAML (secrets redacted) and exit");
  // Hidden: every served route as "METHOD /path" (the OpenAPI route check).
  cli.add_flag("--print-routes", print_routes, "Print the served HTTP routes and exit")->group("");
  check->excludes("--config");
  cli.set_version_flag("--version", versionString());
  cli.footer(subcommandHelp());
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = cli.exit(e);
    return rc == 0 ? 0 : 2;
  }

  ConfigSources sources;
  std::string file = !check_file.empty() ? check_file : config_file;
  if (!file.empty()) sources.file = file;
  sources.environment = processEnvironment();
  sources.overrides = sets;
  auto load = loadConfig(sources);

  if (!check_file.empty()) {
    for (const auto& e : load.errors) std::cerr << e.toString() << "\n";
    if (!load.ok()) {
      std::cerr << check_file << ": " << load.errors.size() << " error(s)\n";
      return 2;
    }
    std::cout << check_file << ": configuration is valid\n";
    return 0;
  }
  if (!load.ok()) {
    std::cerr << "medrelay: invalid configuration, nothing started (" << load.errors.size()
              << " error(s)):\n";
    for (const auto& e : load.errors) std::cerr << "  " << e.toString() << "\n";
    return 2;
  }
  if (print_config) {
    std::cout << load.config.toYaml();
    return 0;
  }

  Config config = std::move(load.config);
  log::configure(config.log.level, *log::parseFormat(config.log.format));
  auto logger = log::get("main");
  auto boot = bootstrapDataDir(config);
  if (!boot) {
    MR_LOG_CRITICAL(logger, "cannot prepare the data dir: {}", boot.error().message);
    return 1;
  }
  logStartup(config, boot.value(), file);

  App app(std::move(config));
  net::http::RouteTable* router = nullptr;
  if (auto r = attachComponents(app, boot.value(), &router); !r) {
    MR_LOG_CRITICAL(logger, "cannot set up the server: {}", r.error().message);
    return 1;
  }
  if (print_routes) {
    for (const auto& [method, path] : router->routes()) std::cout << method << " " << path << "\n";
    return 0;
  }
  return app.run();
}

int runMain(int argc, char** argv) {
  if (argc > 1) {
    if (const Subcommand* sc = findSubcommand(argv[1])) return sc->run(argc - 1, argv + 1);
  }
  return runServe(argc, argv);
}

}  // namespace medrelay::server
