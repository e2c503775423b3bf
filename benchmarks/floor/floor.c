/* The floor of a launcher's per-rank cost: a static program that does nothing but exec its
 * arguments (`floor PROGRAM ARGS...`). Static, so no dynamic loader, no libraries and no
 * initialisers run before the exec; what is left is one execve of a small binary. The launch
 * benchmarks (run_floor.sh) put it between a bare run and cexec: the gap floor - bare is what any
 * exec-ing wrapper pays, the gap cexec - floor is cexec's own. */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("usage: floor PROGRAM [ARGS...]\n", stderr);
    return 64;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "floor: cannot run `%s`: %s\n", argv[1], strerror(errno));
  return 127;
}
