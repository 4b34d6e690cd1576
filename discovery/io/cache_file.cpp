#include "discovery/io/cache_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

#include <caf/message.hpp>

#include "crust/errors.hpp"

namespace crust {

namespace {

// A cache file larger than this is not ours (200 peers take ~60 KiB).
constexpr size_t max_file_size = 4 * 1024 * 1024;

caf::error fail(const std::string& path, const std::string& what) {
  return make_error(errc::invalid_config,
                    "bootstrap cache " + path + ": " + what + ": "
                      + std::strerror(errno));
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// mkdir -p, private to the user.
bool make_dirs(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".")
    return true;
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode);
  if (!make_dirs(dir_of(dir)))
    return false;
  return ::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST;
}

class fd_guard {
public:
  explicit fd_guard(int fd) : fd_(fd) {
    // nop
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const {
    return fd_;
  }

private:
  int fd_;
};

// Holds an exclusive lock on PATH.lock while it lives.
caf::expected<std::unique_ptr<fd_guard>> lock(const std::string& path) {
  auto lock_path = path + ".lock";
  auto fd = std::make_unique<fd_guard>(
    ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd->get() < 0)
    return fail(lock_path, "cannot open the lock file");
  while (::flock(fd->get(), LOCK_EX) != 0)
    if (errno != EINTR)
      return fail(lock_path, "cannot lock");
  return fd;
}

// A network name as one safe path component.
std::string component(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02x", c);
      out += buf;
    }
  }
  if (out == "." || out == "..")
    out = "%2e" + out.substr(1);
  return out;
}

} // namespace

cache_file::cache_file(std::string path, std::string network, size_t capacity)
  : path_(std::move(path)), network_(std::move(network)), capacity_(capacity) {
  // nop
}

caf::error cache_file::check_writable() {
  if (!make_dirs(dir_of(path_)))
    return fail(dir_of(path_), "cannot create the directory");
  auto held = lock(path_);
  if (!held)
    return held.error();
  auto probe = path_ + ".tmp-" + std::to_string(::getpid());
  fd_guard fd{::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                     0600)};
  if (fd.get() < 0)
    return fail(probe, "cannot write next to the cache");
  ::unlink(probe.c_str());
  return caf::none;
}

caf::expected<cache_file::loaded> cache_file::load() {
  auto held = lock(path_);
  if (!held)
    return held.error();
  return read_unlocked();
}

caf::expected<cache_file::loaded>
cache_file::update(const std::function<void(peer_cache&)>& change) {
  auto held = lock(path_);
  if (!held)
    return held.error();
  auto current = read_unlocked();
  if (!current)
    return current.error();
  change(current->cache);
  if (auto err = write_unlocked(current->cache))
    return err;
  return current;
}

caf::expected<cache_file::loaded> cache_file::read_unlocked() {
  loaded result{peer_cache{capacity_}, {}};
  fd_guard fd{::open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.get() < 0) {
    if (errno == ENOENT)
      return result; // no cache yet
    return fail(path_, "cannot open");
  }
  std::string text;
  char buf[16 * 1024];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof(buf))) != 0) {
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail(path_, "cannot read");
    }
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_file_size)
      break;
  }
  auto parsed = text.size() > max_file_size
                  ? caf::expected<peer_cache>{make_error(
                    errc::invalid_config, "larger than any cache we write")}
                  : peer_cache::from_json(text, network_, capacity_);
  if (parsed) {
    result.cache = std::move(*parsed);
    return result;
  }
  // Unusable: keep it for a person to look at, and start afresh.
  auto why = error_detail(parsed.error()).value_or("unusable");
  auto aside = path_ + ".unusable-" + std::to_string(std::time(nullptr));
  if (::rename(path_.c_str(), aside.c_str()) != 0)
    return fail(path_, "unusable (" + why + ") and cannot be set aside");
  result.warning = "bootstrap cache " + path_ + " was unusable (" + why
                   + "); set aside as " + aside + " and rebuilt";
  return result;
}

caf::error cache_file::write_unlocked(const peer_cache& cache) {
  auto text = cache.to_json(network_);
  auto tmp = path_ + ".tmp-" + std::to_string(::getpid());
  {
    fd_guard fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                       0600)};
    if (fd.get() < 0)
      return fail(tmp, "cannot create");
    size_t done = 0;
    while (done < text.size()) {
      auto n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        ::unlink(tmp.c_str());
        return fail(tmp, "cannot write");
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      ::unlink(tmp.c_str());
      return fail(tmp, "cannot sync");
    }
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail(path_, "cannot replace");
  }
  // The rename itself must reach the disk too.
  fd_guard dir{::open(dir_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.get() >= 0)
    ::fsync(dir.get());
  return caf::none;
}

std::string default_cache_path(const std::string& network) {
  std::string base;
  if (auto xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg == '/')
    base = xdg;
  else if (auto home = std::getenv("HOME"); home && *home)
    base = std::string{home} + "/.local/state";
  else
    base = "/tmp";
  return base + "/crust/" + component(network) + "/bootstrap-cache.json";
}

} // namespace crust
