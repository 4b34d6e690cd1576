#include "transports/io/identity_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "crust/errors.hpp"

namespace crust {

namespace {

constexpr const char* header = "crust-identity-v1";

caf::error refuse(const std::string& path, const std::string& why) {
  return make_error(errc::invalid_config,
                    "crust.identity-file: " + path + ": " + why);
}

std::string to_hex(const uint8_t* p, size_t n) {
  std::string out(2 * n + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), p, n);
  out.pop_back();
  return out;
}

} // namespace

caf::expected<identity> load_or_create_identity(const std::string& path) {
  if (sodium_init() < 0)
    return refuse(path, "libsodium failed to initialise");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return refuse(path, strerror(errno));
    // Create it: O_EXCL so two processes never both write a key.
    auto fresh = identity::ephemeral();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
      return refuse(path, std::string{"cannot create: "} + strerror(errno));
    uint8_t seed[identity::seed_size];
    fresh.copy_seed(seed);
    auto text = std::string{header} + "\n" + to_hex(seed, sizeof(seed)) + "\n";
    sodium_memzero(seed, sizeof(seed));
    bool ok = ::write(fd, text.data(), text.size())
                == static_cast<ssize_t>(text.size())
              && ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(text.data(), text.size());
    if (!ok) {
      ::unlink(path.c_str());
      return refuse(path, "cannot write the new key");
    }
    return fresh;
  }
  if (!S_ISREG(st.st_mode))
    return refuse(path, "not a regular file");
  if ((st.st_mode & 077) != 0)
    return refuse(path, "readable by others (mode "
                          + std::to_string((st.st_mode >> 6) & 7)
                          + std::to_string((st.st_mode >> 3) & 7)
                          + std::to_string(st.st_mode & 7)
                          + "); run chmod 600 on it");
  std::ifstream in{path};
  std::string first, hex;
  if (!std::getline(in, first) || first != header || !std::getline(in, hex))
    return refuse(path, std::string{"not a crust identity (expected a first line \""}
                          + header + "\")");
  uint8_t seed[crypto_sign_ed25519_SEEDBYTES];
  size_t len = 0;
  if (hex.size() != 2 * sizeof(seed)
      || sodium_hex2bin(seed, sizeof(seed), hex.data(), hex.size(), nullptr,
                        &len, nullptr)
           != 0
      || len != sizeof(seed)) {
    sodium_memzero(hex.data(), hex.size());
    return refuse(path, "the key line is not 64 hex digits");
  }
  sodium_memzero(hex.data(), hex.size());
  auto result = identity::from_seed(seed);
  sodium_memzero(seed, sizeof(seed));
  return result;
}

} // namespace crust
