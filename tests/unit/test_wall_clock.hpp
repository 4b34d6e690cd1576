// usrsctp keeps two clocks: its timers run on the ticks we hand to
// usrsctp_handle_timers, but it also reads gettimeofday(). The one that
// matters here: when T3 (the retransmission timer) expires, it resends
// only chunks that have been outstanding for srtt + 4 * rttvar (at least
// 10 ms) by gettimeofday (sctp_mark_all_for_resend in sctp_timer.c).
// A test that steps the ticks a thousand times faster than real time
// therefore sees T3 fire, mark nothing, back off, and fire again, until
// ~10 ms of real time have passed: 10 to 50 s of its stepped clock with
// nothing sent (and how long depends on the machine's speed). In a real
// process both clocks run together and none of this happens.
//
// So the unit tests define gettimeofday themselves (the executable's
// definition wins over libc's for libusrsctp.so): while a
// frozen_wall_clock lives, gettimeofday stands still and moves only with
// advance(), in step with the ticks the test gives usrsctp; otherwise it
// is the real time (plus however far frozen spells ran ahead of it, so it
// never goes back).
#pragma once

#include <chrono>

namespace crust::test {

class frozen_wall_clock {
public:
  frozen_wall_clock();
  ~frozen_wall_clock();
  frozen_wall_clock(const frozen_wall_clock&) = delete;
  frozen_wall_clock& operator=(const frozen_wall_clock&) = delete;

  /// Moves gettimeofday on by `d` (pair it with the same tick to usrsctp).
  void advance(std::chrono::milliseconds d);
};

/// True when the process's gettimeofday is the one above (a linker that
/// stopped exporting it would quietly bring back the stalls).
bool wall_clock_is_ours();

} // namespace crust::test
