# CMake generated Testfile for 
# Source directory: /work/wt-install
# Build directory: /work/wt-install/b-rel
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
subdirs("launcher")
subdirs("mpi_bridge")
subdirs("gpu")
subdirs("topology")
subdirs("tests")
subdirs("benchmarks")
