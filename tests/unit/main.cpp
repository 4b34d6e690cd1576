// The one translation unit that provides the CAF test runner's main().
#define CAF_SUITE crust_unit
#define FAIL(msg) CAF_FAIL(msg) // dsl.hpp in 0.17.6 uses an undefined FAIL
#include <caf/test/dsl.hpp>
#include <caf/test/unit_test_impl.hpp>
