# CMake generated Testfile for 
# Source directory: /work/wt-install/tests
# Build directory: /work/wt-install/b-rel/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[unit]=] "/work/wt-install/b-rel/tests/unit_tests")
set_tests_properties([=[unit]=] PROPERTIES  LABELS "unit" _BACKTRACE_TRIPLES "/work/wt-install/tests/CMakeLists.txt;13;add_test;/work/wt-install/tests/CMakeLists.txt;0;")
add_test([=[topology_loader]=] "/work/wt-install/tests/topology/check_machines.sh" "/work/wt-install/b-rel/cexec")
set_tests_properties([=[topology_loader]=] PROPERTIES  LABELS "unit" _BACKTRACE_TRIPLES "/work/wt-install/tests/CMakeLists.txt;28;add_test;/work/wt-install/tests/CMakeLists.txt;0;")
subdirs("mpi_bridge")
subdirs("gpu")
subdirs("e2e")
