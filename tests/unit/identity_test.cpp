#define CAF_SUITE identity
#include <caf/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "transports/identity.hpp"
#include "transports/io/identity_file.hpp"

using namespace crust;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/crust-identity-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~temp_dir() {
    std::string cmd = "rm -rf '" + path + "'";
    (void) std::system(cmd.c_str());
  }
};

std::string message_of(const caf::error& err) {
  return err.context().empty() ? to_string(err)
                               : err.context().get_as<std::string>(0);
}

} // namespace

CAF_TEST(an identity file is created with mode 0600 and read back) {
  temp_dir dir;
  auto path = dir.path + "/id";
  auto first = load_or_create_identity(path);
  CAF_REQUIRE(first);
  struct stat st;
  CAF_REQUIRE(stat(path.c_str(), &st) == 0);
  CAF_CHECK_EQUAL(st.st_mode & 0777, 0600u);
  auto second = load_or_create_identity(path);
  CAF_REQUIRE(second);
  CAF_CHECK(first->id() == second->id());
}

CAF_TEST(a key file others can read is refused) {
  temp_dir dir;
  auto path = dir.path + "/id";
  CAF_REQUIRE(load_or_create_identity(path));
  chmod(path.c_str(), 0644);
  auto again = load_or_create_identity(path);
  CAF_REQUIRE(!again);
  auto text = message_of(again.error());
  CAF_CHECK(text.find("crust.identity-file") != std::string::npos);
  CAF_CHECK(text.find(path) != std::string::npos);
  CAF_CHECK(text.find("readable by others") != std::string::npos);
}

CAF_TEST(a file that is no identity is refused) {
  temp_dir dir;
  auto path = dir.path + "/id";
  std::ofstream{path} << "hello\n";
  chmod(path.c_str(), 0600);
  auto id = load_or_create_identity(path);
  CAF_REQUIRE(!id);
  CAF_CHECK(message_of(id.error()).find("not a crust identity")
            != std::string::npos);
}

CAF_TEST(an unwritable place is a clear error) {
  auto id = load_or_create_identity("/nonexistent-dir/crust/id");
  CAF_REQUIRE(!id);
  CAF_CHECK(message_of(id.error()).find("cannot create") != std::string::npos);
}

CAF_TEST(the noise static key proves the peer id and nothing else) {
  auto a = identity::ephemeral();
  auto b = identity::ephemeral();
  CAF_CHECK(a.id() != b.id());
  CAF_CHECK(identity::binds(a.id(), a.noise_static().pub));
  CAF_CHECK(!identity::binds(b.id(), a.noise_static().pub));
}
