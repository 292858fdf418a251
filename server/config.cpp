#include "server/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>
#include <variant>

#include "server/config_validate.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX, not in <unistd.h> C++

namespace medrelay::server {
namespace {

using SettingRef =
    std::variant<std::string*, bool*, uint16_t*, uint32_t*, uint64_t*, std::vector<std::string>*>;

struct SettingSpec {
  std::string_view key;
  SettingRef (*ref)(Config&);
  uint64_t min = 0;
  uint64_t max = std::numeric_limits<uint64_t>::max();
  bool secret = false;
};

// One entry per setting, in documentation order. Integer ranges are checked while loading.
#define MR_SETTING(sec, name, ...)                                                    \
  SettingSpec {                                                                       \
#sec "." #name, [](Config & c) -> SettingRef { return &c.sec.name; }, __VA_ARGS__ \
  }

const SettingSpec kSettings[] = {
    MR_SETTING(node, id),
    MR_SETTING(http, listen),
    MR_SETTING(http, tls_cert),
    MR_SETTING(http, tls_key),
    MR_SETTING(http, max_connections, 1, 1000000),
    MR_SETTING(http, max_header_bytes, 1024, 1024ull * 1024),
    MR_SETTING(http, max_body_bytes, 1024, 1ull << 30),
    MR_SETTING(http, header_timeout_ms, 100, 600000),
    MR_SETTING(http, idle_timeout_ms, 1000, 86400000),
    MR_SETTING(http, cors_origins),
    MR_SETTING(media, listen_ip),
    MR_SETTING(media, announced_ip),
    MR_SETTING(media, udp_port, 0, 65535),
    MR_SETTING(media, tcp_port, 0, 65535),
    MR_SETTING(media, workers, 0, 64),
    MR_SETTING(media, stale_after_ms, 500, 60000),
    MR_SETTING(media, video_floor_kbps, 0, 10000),
    MR_SETTING(media, connect_timeout_ms, 1000, 120000),
    MR_SETTING(media, consent_timeout_ms, 1000, 120000),
    MR_SETTING(media, datachannels),
    MR_SETTING(media, datachannel_max_message_size, 1024, 262144),
    MR_SETTING(media, datachannel_messages_per_second, 1, 10000),
    MR_SETTING(media, datachannel_bytes_per_second, 1024, 104857600),
    MR_SETTING(turn, enabled),
    MR_SETTING(turn, udp_listen),
    MR_SETTING(turn, tcp_listen),
    MR_SETTING(turn, tls_listen),
    MR_SETTING(turn, realm),
    MR_SETTING(turn, secrets, 0, 0, true),
    MR_SETTING(turn, allow_peers),
    MR_SETTING(turn, deny_peers),
    MR_SETTING(turn, relay_ips),
    MR_SETTING(turn, local_sfu_path),
    MR_SETTING(web, root),
    MR_SETTING(storage, data_dir),
    MR_SETTING(access_log, dir),
    MR_SETTING(access_log, rotate_bytes, 4096, 1ull << 40),
    MR_SETTING(access_log, rotate_daily),
    MR_SETTING(access_log, retention_days, 0, 36500),
    MR_SETTING(webhooks, urls),
    MR_SETTING(webhooks, secret_files),
    MR_SETTING(webhooks, events),
    MR_SETTING(webhooks, format),
    MR_SETTING(webhooks, ca_file),
    MR_SETTING(webhooks, max_attempts, 1, 1000),
    MR_SETTING(webhooks, backoff_initial_ms, 10, 3600000),
    MR_SETTING(webhooks, backoff_max_ms, 10, 86400000),
    MR_SETTING(webhooks, timeout_ms, 100, 600000),
    MR_SETTING(log, level),
    MR_SETTING(log, format),
    MR_SETTING(api, keys_sha256),
    MR_SETTING(cluster, redis),
    MR_SETTING(cluster, redis_user),
    MR_SETTING(cluster, redis_password_file),
    MR_SETTING(cluster, secret_file),
    MR_SETTING(cluster, public_url),
    MR_SETTING(cluster, region),
    MR_SETTING(cluster, capacity, 1, 10000000),
    MR_SETTING(cluster, key_prefix),
    MR_SETTING(cluster, alive_ttl_ms, 200, 600000),
    MR_SETTING(cluster, heartbeat_ms, 50, 60000),
    MR_SETTING(cluster, lease_ttl_ms, 500, 600000),
    MR_SETTING(cluster, command_timeout_ms, 50, 60000),
    MR_SETTING(cluster, ticket_ttl_ms, 1000, 600000),
    MR_SETTING(shutdown, grace_ms, 0, 600000),
};
#undef MR_SETTING

const SettingSpec* findSetting(std::string_view key) {
  for (const auto& s : kSettings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::vector<std::string> sectionNames() {
  std::vector<std::string> out;
  for (const auto& s : kSettings) {
    std::string sec(s.key.substr(0, s.key.find('.')));
    if (std::find(out.begin(), out.end(), sec) == out.end()) out.push_back(sec);
  }
  return out;
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// " (did you mean 'x'?)" for the closest candidate within a few edits, else "".
std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = editDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = &c;
    }
  }
  return best ? " (did you mean '" + *best + "'?)" : "";
}

std::vector<std::string> keysInSection(std::string_view section) {
  std::vector<std::string> out;
  for (const auto& s : kSettings) {
    if (s.key.substr(0, s.key.find('.')) == section) {
      out.emplace_back(s.key.substr(s.key.find('.') + 1));
    }
  }
  return out;
}

std::string unknownKeyMessage(std::string_view key) {
  auto dot = key.find('.');
  if (dot == std::string_view::npos) {
    return "unknown setting (expected section.key)" + didYouMean(key, settingKeys());
  }
  auto sections = sectionNames();
  auto section = key.substr(0, dot);
  if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
    return "unknown section '" + std::string(section) + "'" + didYouMean(key, settingKeys());
  }
  return "unknown setting" + didYouMean(key, settingKeys());
}

std::string quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::optional<bool> parseBool(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "true" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "no" || l == "off") return false;
  return std::nullopt;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

// A value as it arrives: a YAML node from the file, or a string from the environment or --set.
struct RawValue {
  const YAML::Node* node = nullptr;
  std::string text;
};

// Applies one raw value to the setting; returns an error message (empty on success).
std::string assign(const SettingSpec& spec, Config& config, const RawValue& raw) {
  const YAML::Node* node = raw.node;
  bool is_null = node != nullptr && node->IsNull();
  auto scalar = [&]() -> std::optional<std::string> {
    if (node == nullptr) return raw.text;
    if (node->IsScalar()) return node->Scalar();
    return std::nullopt;
  };
  return std::visit(
      [&](auto* target) -> std::string {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (is_null) {
            target->clear();
            return {};
          }
          auto s = scalar();
          if (!s) return "expected a string";
          *target = *s;
          return {};
        } else if constexpr (std::is_same_v<T, bool>) {
          auto s = scalar();
          auto b = s ? parseBool(*s) : std::nullopt;
          if (is_null || !b) return "expected true or false";
          *target = *b;
          return {};
        } else if constexpr (std::is_integral_v<T>) {
          auto s = scalar();
          uint64_t v = 0;
          if (is_null || !s || s->empty()) return "expected an unsigned integer";
          auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
          if (ec != std::errc() || end != s->data() + s->size()) {
            return "expected an unsigned integer, got " + quote(*s);
          }
          if (v < spec.min || v > spec.max) {
            return "must be between " + std::to_string(spec.min) + " and " +
                   std::to_string(spec.max) + ", got " + *s;
          }
          *target = static_cast<T>(v);
          return {};
        } else {
          std::vector<std::string> items;
          if (node != nullptr) {
            if (node->IsSequence()) {
              for (const auto& item : *node) {
                if (!item.IsScalar()) return "expected a list of strings";
                items.push_back(item.Scalar());
              }
            } else if (!is_null) {
              return "expected a list, e.g. [a, b]";
            }
          } else if (!trim(raw.text).empty() && trim(raw.text).front() == '[') {
            try {
              auto seq = YAML::Load(raw.text);
              if (!seq.IsSequence()) return "expected a list, e.g. [a, b]";
              for (const auto& item : seq) {
                if (!item.IsScalar()) return "expected a list of strings";
                items.push_back(item.Scalar());
              }
            } catch (const YAML::Exception& e) {
              return "expected a list, e.g. [a, b]: " + e.msg;
            }
          } else {
            std::stringstream in(raw.text);
            for (std::string item; std::getline(in, item, ',');) {
              if (!trim(item).empty()) items.push_back(trim(item));
            }
          }
          *target = std::move(items);
          return {};
        }
      },
      spec.ref(config));
}

// The known setting whose key is on or above `line` (0-based), to name it in a syntax error.
std::string settingNear(const std::string& text, int line) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  auto keyOf = [](const std::string& l) -> std::string {
    size_t b = l.find_first_not_of(" \t");
    if (b == std::string::npos || l[b] == '#' || l[b] == '-') return {};
    size_t e = b;
    while (e < l.size() && (std::isalnum(static_cast<unsigned char>(l[e])) || l[e] == '_')) ++e;
    if (e == b || e >= l.size() || l[e] != ':') return {};
    return l.substr(b, e - b);
  };
  for (int i = std::min<int>(line, static_cast<int>(lines.size()) - 1); i >= 0; --i) {
    const auto& l = lines[static_cast<size_t>(i)];
    if (l.empty() || !std::isspace(static_cast<unsigned char>(l[0]))) continue;
    auto key = keyOf(l);
    if (key.empty()) continue;
    for (int j = i - 1; j >= 0; --j) {
      const auto& s = lines[static_cast<size_t>(j)];
      if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) continue;
      auto section = keyOf(s);
      std::string full = section;
      full.append(".").append(key);
      if (!section.empty() && findSetting(full)) return full;
      break;
    }
  }
  return {};
}

class Loader {
 public:
  explicit Loader(ConfigLoad& out) : out_(out) {}

  void loadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      out_.errors.push_back({path, 0, "", "cannot read the configuration file", ""});
      return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      // yaml-cpp reports errors found at the end of input one line past the last one.
      int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n'));
      if (!text.empty() && text.back() != '\n') ++lines;
      int line = std::clamp(e.mark.line + 1, 1, std::max(lines, 1));
      auto near = settingNear(text, line - 1);
      out_.errors.push_back({path, line, near, "YAML syntax error: " + e.msg, ""});
      return;
    } catch (const YAML::Exception& e) {
      out_.errors.push_back({path, 0, "", std::string("cannot parse: ") + e.what(), ""});
      return;
    }
    if (root.IsNull()) return;  // an empty file means all defaults
    if (!root.IsMap()) {
      out_.errors.push_back({path, lineOf(root), "", "expected a mapping of sections", ""});
      return;
    }
    auto sections = sectionNames();
    std::set<std::string> seen;
    for (const auto& sec : root) {
      int sec_line = lineOf(sec.first);
      std::string section = sec.first.IsScalar() ? sec.first.Scalar() : "";
      if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
        out_.errors.push_back(
            {path, sec_line, section, "unknown section" + didYouMean(section, sections), ""});
        continue;
      }
      if (sec.second.IsNull()) continue;
      if (!sec.second.IsMap()) {
        out_.errors.push_back({path, sec_line, section, "expected a mapping of settings", ""});
        continue;
      }
      for (const auto& kv : sec.second) {
        int line = lineOf(kv.first);
        std::string key = section + "." + (kv.first.IsScalar() ? kv.first.Scalar() : "?");
        const SettingSpec* spec = findSetting(key);
        if (spec == nullptr) {
          auto names = keysInSection(section);
          auto hint = didYouMean(kv.first.Scalar(), names);
          out_.errors.push_back({path, line, key, "unknown setting" + hint, ""});
          continue;
        }
        if (!seen.insert(key).second) {
          out_.errors.push_back({path, line, key, "set twice in the file", ""});
          continue;
        }
        auto err = assign(*spec, out_.config, RawValue{&kv.second, {}});
        if (!err.empty()) {
          out_.errors.push_back({path, line, key, err, ""});
          continue;
        }
        out_.origins[key] = {ConfigOrigin::Source::kFile, path, line};
      }
    }
  }

  void loadEnvironment(const std::vector<std::string>& env) {
    constexpr std::string_view kPrefix = "MEDRELAY_";
    for (const auto& entry : env) {
      auto eq = entry.find('=');
      if (eq == std::string::npos || entry.compare(0, kPrefix.size(), kPrefix) != 0) continue;
      std::string name = entry.substr(0, eq);
      auto sep = name.find("__", kPrefix.size());
      if (sep == std::string::npos) continue;  // not a setting: MEDRELAY_<SECTION>__<KEY>
      std::string key =
          name.substr(kPrefix.size(), sep - kPrefix.size()) + "." + name.substr(sep + 2);
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      apply(key, entry.substr(eq + 1), {ConfigOrigin::Source::kEnv, name, 0});
    }
  }

  void loadOverrides(const std::vector<std::string>& overrides) {
    for (const auto& o : overrides) {
      auto eq = o.find('=');
      if (eq == std::string::npos) {
        out_.errors.push_back({"", 0, o, "expected --set section.key=value", "--set " + o});
        continue;
      }
      std::string key = trim(o.substr(0, eq));
      const SettingSpec* spec = findSetting(key);
      // Errors quote the flag; a secret's value must not reach the logs that way.
      std::string where =
          spec != nullptr && spec->secret ? "--set " + key + "=<redacted>" : "--set " + o;
      apply(key, o.substr(eq + 1), {ConfigOrigin::Source::kFlag, where, 0});
    }
  }

 private:
  static int lineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

  void apply(const std::string& key, const std::string& value, ConfigOrigin origin) {
    const SettingSpec* spec = findSetting(key);
    if (spec == nullptr) {
      out_.errors.push_back({"", 0, key, unknownKeyMessage(key), origin.where});
      return;
    }
    auto err = assign(*spec, out_.config, RawValue{nullptr, value});
    if (!err.empty()) {
      out_.errors.push_back({"", 0, key, err, origin.where});
      return;
    }
    out_.origins[key] = std::move(origin);
  }

  ConfigLoad& out_;
};

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "medrelay";
  return buf;
}

}  // namespace

std::vector<std::string> settingKeys() {
  std::vector<std::string> out;
  for (const auto& s : kSettings) out.emplace_back(s.key);
  return out;
}

Config Config::defaults() {
  Config c;
  c.node.id = hostName();
  return c;
}

uint32_t Config::effectiveWorkers() const {
  if (media.workers != 0) return media.workers;
  return std::clamp<uint32_t>(std::thread::hardware_concurrency(), 1, 64);
}

std::string Config::toYaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string current;
  auto& self = const_cast<Config&>(*this);  // refs are only read below
  for (const auto& spec : kSettings) {
    auto dot = spec.key.find('.');
    std::string section(spec.key.substr(0, dot));
    if (section != current) {
      if (!current.empty()) out << YAML::EndMap;
      out << YAML::Key << section << YAML::Value << YAML::BeginMap;
      current = section;
    }
    out << YAML::Key << std::string(spec.key.substr(dot + 1)) << YAML::Value;
    std::visit(
        [&](auto* v) {
          using T = std::remove_pointer_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            out << YAML::Flow << YAML::BeginSeq;
            for (const auto& item : *v) out << (spec.secret ? std::string("<redacted>") : item);
            out << YAML::EndSeq;
          } else if constexpr (std::is_same_v<T, std::string>) {
            out << YAML::DoubleQuoted << *v;
          } else if constexpr (std::is_same_v<T, bool>) {
            out << YAML::TrueFalseBool << *v;
          } else {
            out << static_cast<uint64_t>(*v);
          }
        },
        spec.ref(self));
  }
  if (!current.empty()) out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string ConfigError::toString() const {
  std::string where;
  if (!file.empty()) {
    where = line > 0 ? file + ":" + std::to_string(line) : file;
  } else {
    where = origin;
  }
  std::string s;
  if (!where.empty()) s += where + ": ";
  if (!setting.empty()) s += setting + ": ";
  return s + message;
}

ConfigLoad loadConfig(const ConfigSources& sources) {
  ConfigLoad out;
  out.config = Config::defaults();
  Loader loader(out);
  if (sources.file) loader.loadFile(*sources.file);
  loader.loadEnvironment(sources.environment);
  loader.loadOverrides(sources.overrides);

  validateConfig(out.config, [&](std::string_view key, std::string message) {
    ConfigError e;
    e.setting = std::string(key);
    e.message = std::move(message);
    if (auto it = out.origins.find(e.setting); it != out.origins.end()) {
      if (it->second.source == ConfigOrigin::Source::kFile) {
        e.file = it->second.where;
        e.line = it->second.line;
      } else {
        e.origin = it->second.where;
      }
    }
    out.errors.push_back(std::move(e));
  });

  // Derived values and normal forms.
  auto& c = out.config;
  if (c.access_log.dir.empty()) {
    c.access_log.dir = c.storage.data_dir + "/access-log";
  }
  for (auto& h : c.api.keys_sha256) {
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
  }
  return out;
}

std::vector<std::string> processEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

}  // namespace medrelay::server
