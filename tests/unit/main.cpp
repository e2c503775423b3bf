// The unit test runner: Boost.Test's main for the pure modules (one test file per module).
#define BOOST_TEST_MODULE cexec_unit
#include <boost/test/unit_test.hpp>
