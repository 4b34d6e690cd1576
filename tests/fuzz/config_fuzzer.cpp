// libFuzzer target: an INI file through CAF's parser and crust's check of
// its [crust] section. Invariant: every refusal names a crust key.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

#include "config/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in{std::string{reinterpret_cast<const char*>(data), size}};
  auto parsed = caf::actor_system_config::parse_config(in);
  if (!parsed)
    return 0;
  auto err = crust::check_crust_section(*parsed, "fuzz.ini");
  if (err && !err.context().empty()
      && err.context().get_as<std::string>(0).find("crust")
           == std::string::npos)
    abort();
  return 0;
}
