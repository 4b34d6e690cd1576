#define CAF_SUITE cache_file
#include <caf/test/unit_test.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "discovery/io/cache_file.hpp"

using namespace crust;

namespace {

struct fixture {
  std::string dir;
  std::string path;

  fixture() {
    char tmpl[] = "/tmp/crust-cache-test-XXXXXX";
    dir = mkdtemp(tmpl);
    path = dir + "/sub/cache.json";
  }

  ~fixture() {
    std::string cmd = "rm -rf '" + dir + "'";
    (void) std::system(cmd.c_str());
  }

  void write_raw(const std::string& text) {
    std::ofstream{path} << text;
  }

  std::string read_raw(const std::string& file) {
    std::ifstream in{file};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::vector<std::string> files() {
    std::vector<std::string> result;
    std::string cmd = "ls '" + dir + "/sub'";
    auto pipe = popen(cmd.c_str(), "r");
    char line[512];
    while (fgets(line, sizeof(line), pipe))
      result.emplace_back(line, strcspn(line, "\n"));
    pclose(pipe);
    return result;
  }
};

endpoint ep(uint16_t port) {
  return endpoint{transport::tcp, "192.0.2.1", port, caf::none};
}

// A peer id that says who wrote it: writer w, number i.
peer_id made_by(int w, int i) {
  peer_id id;
  id.bytes[0] = static_cast<uint8_t>(w);
  id.bytes[1] = static_cast<uint8_t>(i >> 8);
  id.bytes[2] = static_cast<uint8_t>(i);
  return id;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(cache_file_tests, fixture)

CAF_TEST(a missing file is an empty cache and updates persist) {
  cache_file f{path, "net", 10};
  CAF_REQUIRE(!f.check_writable());
  auto empty = f.load();
  CAF_REQUIRE(empty);
  CAF_CHECK_EQUAL(empty->cache.size(), 0u);
  auto a = peer_id::random();
  CAF_REQUIRE(f.update([&](peer_cache& c) { c.succeeded(a, ep(1), 5); }));
  auto back = cache_file{path, "net", 10}.load();
  CAF_REQUIRE(back);
  CAF_REQUIRE_EQUAL(back->cache.size(), 1u);
  CAF_CHECK(back->cache.ranked().front().peer == a);
  CAF_CHECK(back->warning.empty());
  struct stat st;
  CAF_REQUIRE_EQUAL(::stat(path.c_str(), &st), 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0600u);
}

CAF_TEST(a corrupt file is set aside reported and rebuilt) {
  cache_file f{path, "net", 10};
  CAF_REQUIRE(!f.check_writable());
  write_raw("{\"format\":\"crust-bootstrap-cache\", trunca");
  auto a = peer_id::random();
  auto r = f.update([&](peer_cache& c) { c.succeeded(a, ep(1), 5); });
  CAF_REQUIRE(r);
  CAF_CHECK(r->warning.find("not JSON") != std::string::npos);
  CAF_CHECK(r->warning.find("set aside as") != std::string::npos);
  auto back = f.load();
  CAF_REQUIRE(back);
  CAF_CHECK_EQUAL(back->cache.size(), 1u);
  CAF_CHECK(back->warning.empty());
  size_t aside = 0;
  for (auto& name : files())
    if (name.find("cache.json.unusable-") == 0) {
      ++aside;
      CAF_CHECK_EQUAL(read_raw(dir + "/sub/" + name),
                      "{\"format\":\"crust-bootstrap-cache\", trunca");
    }
  CAF_CHECK_EQUAL(aside, 1u);
}

CAF_TEST(the cache of another network is set aside not used) {
  cache_file theirs{path, "theirs", 10};
  CAF_REQUIRE(!theirs.check_writable());
  CAF_REQUIRE(theirs.update([](peer_cache& c) {
    c.succeeded(peer_id::random(), ep(1), 5);
  }));
  auto r = cache_file{path, "ours", 10}.load();
  CAF_REQUIRE(r);
  CAF_CHECK_EQUAL(r->cache.size(), 0u);
  CAF_CHECK(r->warning.find("network") != std::string::npos);
}

CAF_TEST(an unwritable place is a clear error) {
  cache_file f{"/proc/crust-cannot-be-here/cache.json", "net", 10};
  auto err = f.check_writable();
  CAF_REQUIRE(err);
  CAF_CHECK(err.context().get_as<std::string>(0).find("/proc/crust-cannot-be-here")
            != std::string::npos);
}

CAF_TEST(two processes writing at once lose nothing and never corrupt it) {
  constexpr int per_writer = 60;
  cache_file f{path, "net", 1000};
  CAF_REQUIRE(!f.check_writable());
  std::vector<pid_t> writers;
  for (int w = 1; w <= 2; ++w) {
    auto pid = fork();
    CAF_REQUIRE(pid >= 0);
    if (pid == 0) {
      cache_file mine{path, "net", 1000};
      for (int i = 0; i < per_writer; ++i)
        if (!mine.update([&](peer_cache& c) {
              c.succeeded(made_by(w, i), ep(static_cast<uint16_t>(i + 1)), i);
            }))
          _exit(1);
      _exit(0);
    }
    writers.push_back(pid);
  }
  // Meanwhile every read sees a whole, usable file.
  size_t reads = 0;
  bool done = false;
  while (!done && reads < 100000) {
    auto r = f.load();
    CAF_REQUIRE(r);
    CAF_REQUIRE(r->warning.empty());
    ++reads;
    int status = 0;
    done = true;
    for (auto pid : writers)
      if (waitpid(pid, &status, WNOHANG) == 0)
        done = false;
  }
  for (auto pid : writers) {
    int status = 0;
    waitpid(pid, &status, 0);
  }
  auto end = f.load();
  CAF_REQUIRE(end);
  CAF_CHECK_EQUAL(end->cache.size(), size_t{2 * per_writer});
  CAF_CHECK(end->warning.empty());
  CAF_CHECK_GREATER(reads, 0u);
}

CAF_TEST(the default place is per network and under the state directory) {
  setenv("XDG_STATE_HOME", "/var/tmp/state", 1);
  CAF_CHECK_EQUAL(default_cache_path("crust"),
                  "/var/tmp/state/crust/crust/bootstrap-cache.json");
  CAF_CHECK_EQUAL(default_cache_path("../x y"),
                  "/var/tmp/state/crust/..%2fx%20y/bootstrap-cache.json");
  unsetenv("XDG_STATE_HOME");
}

CAF_TEST_FIXTURE_SCOPE_END()
