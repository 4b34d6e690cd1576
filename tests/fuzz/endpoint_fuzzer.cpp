// libFuzzer target: endpoint text as users and config files write it.
// Invariant: whatever parses prints back to text that parses to the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "crust/endpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto ep = crust::endpoint::parse(text);
  if (!ep)
    return 0;
  auto again = crust::endpoint::parse(to_string(*ep));
  if (!again || !(*again == *ep))
    abort();
  return 0;
}
