#include "tests/unit/test_wall_clock.hpp"

#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>

#include <cstdint>
#include <mutex>

namespace {

std::mutex mtx;
int frozen = 0;          // nesting depth of frozen_wall_clock
int64_t frozen_us = 0;   // the time while frozen
int64_t offset_us = 0;   // added to the real time while not frozen

int64_t real_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

} // namespace

extern "C" int gettimeofday(struct timeval* __restrict tv,
                            void* __restrict tz) noexcept {
  int64_t us;
  {
    std::lock_guard<std::mutex> guard{mtx};
    us = frozen > 0 ? frozen_us : real_us() + offset_us;
  }
  if (tv) {
    tv->tv_sec = static_cast<time_t>(us / 1000000);
    tv->tv_usec = static_cast<suseconds_t>(us % 1000000);
  }
  if (tz)
    *static_cast<struct timezone*>(tz) = {};
  return 0;
}

namespace crust::test {

frozen_wall_clock::frozen_wall_clock() {
  std::lock_guard<std::mutex> guard{mtx};
  if (frozen++ == 0)
    frozen_us = real_us() + offset_us;
}

frozen_wall_clock::~frozen_wall_clock() {
  std::lock_guard<std::mutex> guard{mtx};
  if (--frozen == 0)
    offset_us = frozen_us - real_us(); // carries on from where it stood
}

void frozen_wall_clock::advance(std::chrono::milliseconds d) {
  std::lock_guard<std::mutex> guard{mtx};
  frozen_us += static_cast<int64_t>(d.count()) * 1000;
}

bool wall_clock_is_ours() {
  return dlsym(RTLD_DEFAULT, "gettimeofday")
         == reinterpret_cast<void*>(&gettimeofday);
}

} // namespace crust::test
