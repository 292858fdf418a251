#include "server/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"

namespace medrelay::server {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

net::http::Request get(std::string path) {
  net::http::Request r;
  r.method = "GET";
  r.path = std::move(path);
  return r;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "dist";
    write(root_ / "index.html", "<!doctype html><title>x</title>");
    write(root_ / "assets" / "index-abc.js", "console.log(1)");
    write(root_ / ".hidden", "no");
    write(dir_.path() / "secret.txt", "secret");
    fs::create_symlink(dir_.path() / "secret.txt", root_ / "link.txt");
  }
  test::TempDir dir_;
  fs::path root_;
};

TEST_F(StaticFilesTest, ServesIndexAndAssetsWithTypesCachingAndCsp) {
  StaticFiles files(root_.string(), "/app");
  auto index = files.serve(get("/app/"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>x</title>");
  EXPECT_EQ(index.headers.get("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.headers.get("cache-control"), "no-cache");
  EXPECT_EQ(index.headers.get("content-security-policy")->substr(0, 20), "default-src 'self'; ");
  auto js = files.serve(get("/app/assets/index-abc.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(files.serve(get("/app/assets/index%2Dabc.js")).status, 200);
}

TEST_F(StaticFilesTest, RedirectsTheBareMountAndMatchesOnlyItsPrefix) {
  StaticFiles files(root_.string(), "/app");
  auto r = files.serve(get("/app"));
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.headers.get("location"), "/app/");
  EXPECT_TRUE(files.handles("/app"));
  EXPECT_TRUE(files.handles("/app/x"));
  EXPECT_FALSE(files.handles("/apple"));
  EXPECT_FALSE(files.handles("/v1/rooms"));
}

TEST_F(StaticFilesTest, EtagRevalidationAnswers304) {
  StaticFiles files(root_.string(), "/app");
  auto first = files.serve(get("/app/"));
  auto etag = std::string(*first.headers.get("etag"));
  auto req = get("/app/");
  req.headers.add("If-None-Match", "\"other\", " + etag);
  auto again = files.serve(req);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.headers.get("etag"), etag);
  write(root_ / "index.html", "<!doctype html><title>changed</title>");
  EXPECT_EQ(files.serve(req).status, 200);
}

TEST_F(StaticFilesTest, RefusesTraversalHiddenFilesSymlinksOutAndDirectories) {
  StaticFiles files(root_.string(), "/app");
  for (const char* path :
       {"/app/../secret.txt", "/app/%2e%2e/secret.txt", "/app/assets/%2E%2E/%2E%2E/secret.txt",
        "/app/.hidden", "/app/link.txt", "/app/assets", "/app/assets/", "/app/nope.js",
        "/app/assets%2F..%2F..%2Fsecret.txt", "/app/a%00b", "/app/a\\b", "/app//index.html"}) {
    EXPECT_EQ(files.serve(get(path)).status, 404) << path;
  }
  auto post = get("/app/");
  post.method = "POST";
  EXPECT_EQ(files.serve(post).status, 405);
}

TEST_F(StaticFilesTest, MissingRootAnswers404WithAReason) {
  StaticFiles files((dir_.path() / "absent").string(), "/app");
  auto r = files.serve(get("/app/"));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("web_client_missing"), std::string::npos);
}

TEST(ContentType, KnownAndUnknownExtensions) {
  EXPECT_EQ(contentTypeFor("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(contentTypeFor("a.svg"), "image/svg+xml");
  EXPECT_EQ(contentTypeFor("README"), "application/octet-stream");
}

}  // namespace
}  // namespace medrelay::server
