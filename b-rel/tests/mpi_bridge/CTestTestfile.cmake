# CMake generated Testfile for 
# Source directory: /work/wt-install/tests/mpi_bridge
# Build directory: /work/wt-install/b-rel/tests/mpi_bridge
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test([=[mpi_elf]=] "/work/wt-install/b-rel/tests/mpi_bridge/mpi_elf_tests")
set_tests_properties([=[mpi_elf]=] PROPERTIES  LABELS "unit" _BACKTRACE_TRIPLES "/work/wt-install/tests/mpi_bridge/CMakeLists.txt;30;add_test;/work/wt-install/tests/mpi_bridge/CMakeLists.txt;0;")
