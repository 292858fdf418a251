#pragma once

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

// A small, strict reader of the Prometheus text format 0.0.4 for tests: it records HELP/TYPE
// per family and every sample, and notes anything malformed in `errors`.
namespace medrelay::metrics::test {

struct Sample {
  std::string name;  // as written (with _bucket/_sum/_count)
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Family {
  std::string help;
  std::string type;
  std::vector<Sample> samples;
  // Label names of the samples, minus `le` (histogram buckets).
  std::set<std::string> labelNames() const {
    std::set<std::string> names;
    for (const auto& s : samples) {
      for (const auto& [k, v] : s.labels) {
        if (k != "le") names.insert(k);
      }
    }
    return names;
  }
};

struct Exposition {
  std::map<std::string, Family> families;
  std::vector<std::string> order;  // family names in TYPE order
  std::vector<std::string> errors;

  const Sample* find(const std::string& name,
                     const std::map<std::string, std::string>& labels) const {
    for (const auto& [fname, f] : families) {
      for (const auto& s : f.samples) {
        if (s.name == name && s.labels == labels) return &s;
      }
    }
    return nullptr;
  }
  // Value of the sample with exactly these labels; -1 when absent.
  double value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    const Sample* s = find(name, labels);
    return s != nullptr ? s->value : -1;
  }
};

inline std::string familyOf(const std::string& sample, const std::map<std::string, Family>& fams) {
  if (fams.count(sample) != 0) return sample;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string sfx(suffix);
    if (sample.size() > sfx.size() &&
        sample.compare(sample.size() - sfx.size(), sfx.size(), sfx) == 0) {
      const std::string base = sample.substr(0, sample.size() - sfx.size());
      auto it = fams.find(base);
      if (it != fams.end() && it->second.type == "histogram") return base;
    }
  }
  return {};
}

inline Exposition parseExposition(const std::string& text) {
  Exposition out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const bool help = line[2] == 'H';
      const std::string rest = line.substr(7);
      const auto space = rest.find(' ');
      const std::string name = rest.substr(0, space);
      const std::string arg = space == std::string::npos ? "" : rest.substr(space + 1);
      Family& f = out.families[name];
      if (help) {
        if (!f.help.empty()) out.errors.push_back("duplicate HELP " + name);
        f.help = arg;
      } else {
        if (!f.type.empty()) out.errors.push_back("duplicate TYPE " + name);
        f.type = arg;
        out.order.push_back(name);
      }
      continue;
    }
    if (line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const auto eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          out.errors.push_back("bad labels: " + line);
          break;
        }
        const std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) ++j;
          value += line[j];
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      out.errors.push_back("no value: " + line);
      continue;
    }
    const std::string v = line.substr(i + 1);
    s.value = v == "+Inf" ? 1e308 : std::stod(v);
    const std::string fam = familyOf(s.name, out.families);
    if (fam.empty() || out.families[fam].type.empty()) {
      out.errors.push_back("sample before its TYPE: " + line);
      continue;
    }
    out.families[fam].samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace medrelay::metrics::test
