#include "server/static_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace medrelay::server {
namespace {

namespace fs = std::filesystem;
using net::http::Response;

constexpr std::string_view kCsp =
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob: mediastream:; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string canonical(const std::string& path) {
  std::error_code ec;
  auto p = fs::canonical(path, ec);
  return ec ? std::string() : p.string();
}

void securityHeaders(Response& r) {
  r.headers.set("Content-Security-Policy", std::string(kCsp));
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.headers.set("Referrer-Policy", "no-referrer");
  r.headers.set("X-Frame-Options", "DENY");
  r.headers.set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()");
}

Response notFound() {
  Response r = Response::error(404, "not_found", "no such file");
  securityHeaders(r);
  return r;
}

bool safeSegment(std::string_view seg) {
  if (seg.empty() || seg.front() == '.') return false;  // "", ".", "..", hidden files
  for (char c : seg) {
    if (c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

}  // namespace

std::string_view contentTypeFor(std::string_view name) {
  struct Type {
    std::string_view ext;
    std::string_view type;
  };
  static constexpr std::array<Type, 12> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
  }};
  for (const auto& t : kTypes) {
    if (name.size() >= t.ext.size() && name.substr(name.size() - t.ext.size()) == t.ext) {
      return t.type;
    }
  }
  return "application/octet-stream";
}

StaticFiles::StaticFiles(std::string root, std::string mount)
    : root_(canonical(root)), mount_(std::move(mount)) {}

bool StaticFiles::handles(std::string_view path) const {
  if (path.substr(0, mount_.size()) != mount_) return false;
  return path.size() == mount_.size() || path[mount_.size()] == '/';
}

Response StaticFiles::serve(const net::http::Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    Response r = Response::error(405, "method_not_allowed", "GET or HEAD only");
    r.headers.set("Allow", "GET, HEAD");
    return r;
  }
  if (request.path == mount_) {
    Response r = Response::empty(301);
    r.headers.set("Location", mount_ + "/");
    return r;
  }
  if (root_.empty()) {
    Response r = Response::error(404, "web_client_missing",
                                 "the web client is not built (scripts/build-web.sh) or web.root "
                                 "does not exist");
    securityHeaders(r);
    return r;
  }
  std::string_view rest = std::string_view(request.path).substr(mount_.size() + 1);
  std::string relative;
  if (rest.empty()) {
    relative = "index.html";
  } else {
    while (!rest.empty()) {
      size_t slash = rest.find('/');
      auto decoded = net::http::percentDecode(rest.substr(0, slash));
      if (!decoded || !safeSegment(*decoded)) return notFound();
      if (!relative.empty()) relative += '/';
      relative += *decoded;
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
      if (rest.empty()) return notFound();  // trailing slash on a file
    }
  }
  std::string full = canonical(root_ + "/" + relative);
  if (full.empty() || full.compare(0, root_.size() + 1, root_ + "/") != 0) return notFound();
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return notFound();

  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  const bool immutable = relative.rfind("assets/", 0) == 0;
  auto finish = [&](Response& r) {
    r.headers.set("ETag", etag);
    r.headers.set("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
    securityHeaders(r);
  };
  // RFC 9110 13.1.2: a list of entity tags or "*".
  if (auto inm = request.header("if-none-match")) {
    if (*inm == "*" || net::http::containsToken(*inm, etag)) {
      Response r = Response::empty(304);
      finish(r);
      return r;
    }
  }
  std::ifstream in(full, std::ios::binary);
  if (!in) return notFound();
  std::ostringstream body;
  body << in.rdbuf();
  Response r = Response::text(200, body.str(), contentTypeFor(relative));
  finish(r);
  return r;
}

std::string defaultWebRoot() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path();
  for (const fs::path& candidate :
       {dir / ".." / "share" / "medrelay" / "web", dir / ".." / ".." / "web" / "dist",
        dir / ".." / ".." / ".." / "web" / "dist"}) {
    if (fs::exists(candidate / "index.html", ec)) return canonical(candidate.string());
  }
  return {};
}

}  // namespace medrelay::server
