#pragma once

#include <string>
#include <string_view>

#include "net/http/http_message.h"

namespace medrelay::server {

// Serves the built web client (web/dist) under a mount path such as "/app": "/app" redirects to
// "/app/", "/app/" is index.html. Only regular files below the root are served: "..", ".",
// hidden names, backslashes and NULs are refused, and the resolved path must stay under the
// root (symlinks out of it are refused). Strong ETags (size + mtime) with If-None-Match -> 304;
// hashed assets are cached for a year, everything else revalidated; every response carries a
// Content-Security-Policy allowing only the relay itself. Files are small and read on the
// control thread.
class StaticFiles {
 public:
  StaticFiles(std::string root, std::string mount);

  bool handles(std::string_view path) const;
  net::http::Response serve(const net::http::Request& request) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;  // canonical path, empty if it does not exist
  std::string mount_;
};

// Content-Type for a file name by extension (application/octet-stream if unknown).
std::string_view contentTypeFor(std::string_view name);

// The web client's directory when web.root is empty: <prefix>/share/medrelay/web next to an
// installed binary (bin/medrelay), else the source tree's web/dist next to a build tree
// (build/<preset>/medrelay); empty when neither exists.
std::string defaultWebRoot();

}  // namespace medrelay::server
