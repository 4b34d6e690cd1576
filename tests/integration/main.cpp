// The one translation unit that provides the CAF test runner's main().
#define CAF_SUITE crust_integration
#include <caf/test/unit_test.hpp>
#include <caf/test/unit_test_impl.hpp>
