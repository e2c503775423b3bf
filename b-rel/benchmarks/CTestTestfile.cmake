# CMake generated Testfile for 
# Source directory: /work/wt-install/benchmarks
# Build directory: /work/wt-install/b-rel/benchmarks
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
