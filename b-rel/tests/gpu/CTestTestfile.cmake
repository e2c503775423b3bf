# CMake generated Testfile for 
# Source directory: /work/wt-install/tests/gpu
# Build directory: /work/wt-install/b-rel/tests/gpu
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
