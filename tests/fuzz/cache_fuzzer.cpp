// libFuzzer target: the bootstrap cache file's text, which anyone with
// write access to the state directory (or a crashed writer) may have left.
// Invariants: nothing throws or crashes; what loads is within its bounds
// and writes back to text that loads to the same ranking.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "discovery/peer_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  constexpr size_t capacity = 16;
  auto cache = crust::peer_cache::from_json(text, "fuzz", capacity);
  if (!cache)
    return 0;
  if (cache->size() > capacity)
    abort();
  for (auto& e : cache->ranked())
    if (e.endpoints.empty()
        || e.endpoints.size() > crust::peer_cache::max_endpoints
        || e.failures >= crust::peer_cache::max_failures)
      abort();
  auto again = crust::peer_cache::from_json(cache->to_json("fuzz"), "fuzz",
                                            capacity);
  if (!again || again->size() != cache->size())
    abort();
  auto a = cache->ranked();
  auto b = again->ranked();
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].peer != b[i].peer || a[i].endpoints.size() != b[i].endpoints.size())
      abort();
  return 0;
}
