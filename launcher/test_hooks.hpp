// Fault injection for the tests (issue 18), compiled in only with CEXEC_TEST_HOOKS (like the fake
// GPU root; `cexec --version` says "test hooks: on"); elsewhere `reached` is empty and inlined away.
//
// CEXEC_TEST_KILL_AT=STEP[,STEP...]:MARKER — the first process of the job to reach a named STEP
// (a `-v` step name, or keeper-start / keeper-admit in the node instance's keeper) creates the
// file MARKER (O_EXCL: exactly one process wins) and kills itself with SIGKILL at that point.
// Every other process, and every later launch while MARKER exists, goes on: so a test kills one
// creator, keeper, builder or joining rank at one step and watches what the others do. MARKER's
// folder is opened at a process's first step (on the host) and kept, close-on-exec, so steps in
// the container's mount namespace reach it too.
#pragma once

namespace cexec::test_hooks {

#ifdef CEXEC_TEST_HOOKS
void reached(const char* step);
#else
inline void reached(const char*) {}
#endif

}  // namespace cexec::test_hooks
