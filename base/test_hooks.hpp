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
//
// CEXEC_TEST_PAUSE_AT=STEP:SECONDS — every process that reaches STEP sleeps SECONDS there, so a
// test can look at it in that state (a rank at `exec`: in the container, privileges dropped, still
// running cexec).
//
// CEXEC_TEST_STAGING_SIZE=BYTES — the staging tmpfs gets this size (tmpfs `size=`) instead of the
// kernel's default, so a test can fill it (ENOSPC).
//
// CEXEC_TEST_PULL_RATE=BYTES — registry downloads are limited to BYTES per second, so a test can
// kill the registry while a layer is half downloaded.
#pragma once

namespace cexec::test_hooks {

#ifdef CEXEC_TEST_HOOKS
void reached(const char* step);
const char* staging_size();  // nullptr: the kernel's default
long long pull_rate();        // 0: unlimited
#else
inline void reached(const char*) {}
inline const char* staging_size() { return nullptr; }
inline long long pull_rate() { return 0; }
#endif

}  // namespace cexec::test_hooks
