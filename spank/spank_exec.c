/* cexec-spank-exec: the program slurmstepd executes for a task of a --container-image step, after
 * the TaskProlog and the user limits (docs/spank.md). It takes the cexec command line the SPANK
 * plugin left in CEXEC_SPANK_EXEC, adds --env NAME=VALUE for each --container-env name from the
 * environment as it is now, removes its own two variables, and executes cexec with the task's
 * arguments: the PID, environment, limits and working directory stay the task's. */
#define _POSIX_C_SOURCE 200809L  /* unsetenv, execv */

#include "handoff.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("cexec-spank: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(status);
}

static const char *from_environment(const char *name, void *ctx) {
  (void)ctx;
  return getenv(name);
}

int main(int argc, char **argv) {
  const char *encoded = getenv(CEXEC_SPANK_EXEC_VAR);
  struct cexec_strv command = {0};
  if (encoded == NULL || cexec_spank_decode(encoded, &command) != 0) {
    die(CEXEC_SPANK_EXIT_INTERNAL, "%s is %s: this program is started by the SPANK plugin cexec_spank.so, not by hand",
        CEXEC_SPANK_EXEC_VAR, encoded == NULL ? "not set" : "malformed");
  }
  struct cexec_strv env_options = {0};
  if (cexec_spank_env_options(getenv(CEXEC_SPANK_ENV_VAR), from_environment, NULL, &env_options) != 0) {
    die(CEXEC_SPANK_EXIT_INTERNAL, "out of memory");
  }
  unsetenv(CEXEC_SPANK_EXEC_VAR);
  unsetenv(CEXEC_SPANK_ENV_VAR);
  struct cexec_strv exec_argv = {0};
  if (cexec_spank_exec_argv(&command, &env_options, argc, argv, &exec_argv) != 0) {
    die(CEXEC_SPANK_EXIT_INTERNAL, "out of memory or an empty command in %s", CEXEC_SPANK_EXEC_VAR);
  }
  execv(exec_argv.items[0], exec_argv.items);
  die(CEXEC_SPANK_EXIT_CONFIG, "cexec `%s` (plugstack.conf cexec=): %s", exec_argv.items[0], strerror(errno));
}
