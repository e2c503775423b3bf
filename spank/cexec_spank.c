/* The SLURM SPANK plugin: `srun --container-image=IMG CMD` runs each task as `cexec exec IMG CMD`
 * would run under srun (docs/spank.md).
 *
 * The plugin changes only the program slurmstepd executes for a task; it starts, mounts and
 * enters nothing itself. In slurm_spank_task_init (in the task's process, as the job's user,
 * after privileges are dropped) it hands the cexec command line to cexec-spank-exec through the
 * environment and makes that helper the task's program: with SLURM >= 23.02 through
 * spank_prepend_task_argv(); with 22.05, which has no call for it, by replacing the task's
 * argv[0], which the helper receives back in the handoff. slurmstepd then runs the TaskProlog,
 * sets TMPDIR and the propagated user limits, and executes the helper, which executes cexec: so
 * cexec starts with exactly the environment, limits, working directory and PID that `srun cexec`
 * would have, and every later plugin's task_init still runs.
 *
 * Without --container-image, task_init returns after one option lookup: ordinary steps are
 * untouched. The batch script, the extern step and salloc's interactive step are never
 * containerized; the job's srun steps inherit the options from sbatch and salloc. No code runs as
 * root beyond option registration and copying option strings: every file this plugin looks at,
 * it looks at in task_init, as the user. */
#define _POSIX_C_SOURCE 200809L  /* dprintf, strdup */

#include "handoff.h"

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

SPANK_PLUGIN(cexec, 1)  /* the macro ends in its own semicolon */

#define HAVE_PREPEND_TASK_ARGV (SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0))

enum option_id {
  OPT_IMAGE,
  OPT_MOUNTS,
  OPT_ENV,
  OPT_WORKDIR,
  OPT_WRITABLE,
  OPT_NO_MOUNT_HOME,
  OPT_MPI,
  OPT_GPU,
  OPT_CPU_BIND,
  OPT_COUNT,
};

static int check_option(int val, const char *optarg, int remote);

/* Names follow Pyxis where the meaning is the same (README, "Pyxis options and cexec"). */
static struct spank_option options[OPT_COUNT] = {
    [OPT_IMAGE] = {"container-image", "IMAGE", "[cexec] run each task inside IMAGE (cexec exec IMAGE ...)", 1,
                   OPT_IMAGE, check_option},
    [OPT_MOUNTS] = {"container-mounts", "SRC:DST[:ro],...", "[cexec] bind host paths (cexec --bind)", 1, OPT_MOUNTS,
                    check_option},
    [OPT_ENV] = {"container-env", "NAME,...", "[cexec] these variables keep the host's value over the image's", 1,
                 OPT_ENV, check_option},
    [OPT_WORKDIR] = {"container-workdir", "DIR", "[cexec] working directory inside the container (cexec --pwd)", 1,
                     OPT_WORKDIR, check_option},
    [OPT_WRITABLE] = {"container-writable", NULL,
                      "[cexec] a writable tmpfs overlay over the image, shared by the node's tasks, discarded at "
                      "the end (cexec --writable-tmpfs)",
                      0, OPT_WRITABLE, check_option},
    [OPT_NO_MOUNT_HOME] = {"no-container-mount-home", NULL, "[cexec] do not bind the home directory (cexec --no-home)",
                           0, OPT_NO_MOUNT_HOME, check_option},
    [OPT_MPI] = {"cexec-mpi", "POLICY", "[cexec] MPI bridge: auto, host, image, off (cexec --mpi)", 1, OPT_MPI,
                 check_option},
    [OPT_GPU] = {"cexec-gpu", "MODE", "[cexec] GPU driver injection: auto, nvidia, rocm, none (cexec --gpu)", 1,
                 OPT_GPU, check_option},
    [OPT_CPU_BIND] = {"cexec-cpu-bind", "MODE", "[cexec] CPU binding: auto, none, cores, numa, package (cexec --cpu-bind)",
                      1, OPT_CPU_BIND, check_option},
};

/* plugstack.conf's arguments, parsed in slurm_spank_init; a bad one is reported only to steps
 * that ask for a container (ordinary steps stay untouched). */
static struct cexec_spank_config config = {CEXEC_SPANK_DEFAULT_CEXEC, CEXEC_SPANK_DEFAULT_HELPER};
static char config_error[512];

/* Values are checked where the user typed them (srun, sbatch, salloc: SLURM then refuses the
 * option with this line and its own), and again in slurmstepd. */
static int check_option(int val, const char *optarg, int remote) {
  (void)remote;
  char err[256];
  if (val < 0 || val >= OPT_COUNT || !options[val].has_arg) {
    return 0;
  }
  if (optarg == NULL || optarg[0] == '\0') {
    slurm_error("cexec-spank: --%s: empty value", options[val].name);
    return -1;
  }
  if (val == OPT_ENV && cexec_spank_check_env_names(optarg, err, sizeof err) != 0) {
    slurm_error("cexec-spank: %s", err);
    return -1;
  }
  return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av) {
  spank_context_t context = spank_context();
  if (context != S_CTX_LOCAL && context != S_CTX_REMOTE && context != S_CTX_ALLOCATOR) {
    return 0;
  }
  for (int i = 0; i < OPT_COUNT; ++i) {
    if (spank_option_register(sp, &options[i]) != ESPANK_SUCCESS) {
      slurm_error("cexec-spank: cannot register --%s", options[i].name);
      return -1;
    }
  }
  (void)cexec_spank_parse_args(ac, av, &config, config_error, sizeof config_error);
  return 0;
}

/* The option's value ("" for a flag that is set), or NULL when the step did not ask for it. */
static const char *option_value(spank_t sp, enum option_id id) {
  char *value = NULL;
  if (spank_option_getopt(sp, &options[id], &value) != ESPANK_SUCCESS) {
    return NULL;
  }
  return value == NULL ? "" : value;
}

static struct cexec_container_options requested(spank_t sp) {
  struct cexec_container_options o = {
      .image = option_value(sp, OPT_IMAGE),
      .mounts = option_value(sp, OPT_MOUNTS),
      .env_names = option_value(sp, OPT_ENV),
      .workdir = option_value(sp, OPT_WORKDIR),
      .writable = option_value(sp, OPT_WRITABLE) != NULL,
      .no_mount_home = option_value(sp, OPT_NO_MOUNT_HOME) != NULL,
      .mpi = option_value(sp, OPT_MPI),
      .gpu = option_value(sp, OPT_GPU),
      .cpu_bind = option_value(sp, OPT_CPU_BIND),
  };
  return o;
}

/* The whole of FILE when it is a readable regular file of at most max bytes (srun refuses
 * --multi-prog files over 60000), else NULL. Called as the user. */
static char *read_small_file(const char *path, size_t max) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return NULL;
  }
  char *text = malloc(max + 1);
  size_t got = 0;
  ssize_t n = 0;
  while (text != NULL && got <= max && (n = read(fd, text + got, max + 1 - got)) > 0) {
    got += (size_t)n;
  }
  close(fd);
  if (text == NULL || n < 0 || got > max) {
    free(text);
    return NULL;
  }
  text[got] = '\0';
  return text;
}

static bool is_multi_prog(int argc, char **argv) {
  char *contents = argc >= 2 ? read_small_file(argv[0], 60000) : NULL;
  bool yes = cexec_spank_is_multi_prog(argc, argv, contents);
  free(contents);
  return yes;
}

static const char multi_prog_refusal[] =
    "--container-image with --multi-prog needs SLURM 23.02 or later; write `cexec IMAGE` into the "
    "--multi-prog lines instead";

/* srun, before it launches anything: the checks that would otherwise fail every task. */
int slurm_spank_local_user_init(spank_t sp, int ac, char **av) {
  (void)ac;
  (void)av;
  struct cexec_container_options o = requested(sp);
  if (o.image == NULL) {
    return 0;
  }
  if (config_error[0] != '\0') {
    slurm_error("cexec-spank: %s", config_error);
    return -1;
  }
  struct cexec_strv command = {0};
  char err[512];
  if (cexec_spank_command(&o, config.cexec, &command, err, sizeof err) != 0) {
    slurm_error("cexec-spank: %s", err);
    return -1;
  }
  cexec_strv_free(&command);
  int argc = 0;
  char **argv = NULL;
  if (!HAVE_PREPEND_TASK_ARGV && spank_get_item(sp, S_JOB_ARGV, &argc, &argv) == ESPANK_SUCCESS &&
      is_multi_prog(argc, argv)) {
    slurm_error("cexec-spank: %s", multi_prog_refusal);
    return -1;
  }
  return 0;
}

/* One line on the task's stderr (the job's output), and the task ends with cexec's status for
 * the same failure: the step fails, slurmstepd and slurmd carry on. This runs in the task's own
 * process, which exists only to execute the task. */
static void __attribute__((noreturn, format(printf, 2, 3))) fail_task(int status, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  dprintf(STDERR_FILENO, "cexec-spank: %s\n", line);
  _exit(status);
}

static bool is_containerized_step(spank_t sp) {
  uint32_t step = 0;
  if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "cannot read the step's id");
  }
  return step != SLURM_BATCH_SCRIPT && step != SLURM_EXTERN_CONT && step != SLURM_INTERACTIVE_STEP;
}

static void require_program(const char *path, const char *key) {
  if (access(path, X_OK) != 0) {
    fail_task(CEXEC_SPANK_EXIT_CONFIG, "%s `%s` (plugstack.conf %s=): %s", key, path, key, strerror(errno));
  }
}

/* Makes cexec-spank-exec the task's program; the command it will execute goes into the task's
 * environment. */
static void hand_off(spank_t sp, struct cexec_strv *command, char **argv) {
#if !HAVE_PREPEND_TASK_ARGV
  /* SLURM 22.05: S_JOB_ARGV is the very vector slurmstepd passes to execve() in this process
   * (src/slurmd/slurmstepd/task.c, exec_task(); not so with --multi-prog, refused above). It cannot
   * grow, so argv[0] is replaced by the helper and moves to the end of the command. */
  if (cexec_strv_push(command, argv[0]) != 0) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "out of memory");
  }
#endif
  char *encoded = cexec_spank_encode(command);
  if (encoded == NULL) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "out of memory");
  }
  if (spank_setenv(sp, CEXEC_SPANK_EXEC_VAR, encoded, 1) != ESPANK_SUCCESS) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "cannot set %s in the task's environment", CEXEC_SPANK_EXEC_VAR);
  }
  free(encoded);
#if HAVE_PREPEND_TASK_ARGV
  (void)argv;  /* the task's own vector follows the prefix unchanged */
  const char *prefix[] = {config.helper, NULL};
  if (spank_prepend_task_argv(sp, 1, prefix) != ESPANK_SUCCESS) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "spank_prepend_task_argv failed");
  }
#else
  char *helper = strdup(config.helper);
  if (helper == NULL) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "out of memory");
  }
  argv[0] = helper;
#endif
}

int slurm_spank_task_init(spank_t sp, int ac, char **av) {
  (void)ac;
  (void)av;
  if (option_value(sp, OPT_IMAGE) == NULL || !spank_remote(sp) || !is_containerized_step(sp)) {
    return 0;
  }
  if (config_error[0] != '\0') {
    fail_task(CEXEC_SPANK_EXIT_CONFIG, "%s", config_error);
  }
  struct cexec_container_options o = requested(sp);
  require_program(config.cexec, "cexec");
  require_program(config.helper, "helper");
  int argc = 0;
  char **argv = NULL;
  if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "cannot read the task's arguments");
  }
  if (argc < 1 || argv == NULL || argv[0] == NULL) {
    return 0;  /* no program: slurmstepd reports it */
  }
  if (!HAVE_PREPEND_TASK_ARGV && is_multi_prog(argc, argv)) {
    fail_task(CEXEC_SPANK_EXIT_USAGE, "%s", multi_prog_refusal);
  }
  struct cexec_strv command = {0};
  char err[512];
  if (cexec_spank_command(&o, config.cexec, &command, err, sizeof err) != 0) {
    fail_task(CEXEC_SPANK_EXIT_USAGE, "%s", err);
  }
  spank_err_t rc = o.env_names != NULL ? spank_setenv(sp, CEXEC_SPANK_ENV_VAR, o.env_names, 1)
                                        : spank_unsetenv(sp, CEXEC_SPANK_ENV_VAR);
  if (rc != ESPANK_SUCCESS) {
    fail_task(CEXEC_SPANK_EXIT_INTERNAL, "cannot set %s in the task's environment", CEXEC_SPANK_ENV_VAR);
  }
  hand_off(sp, &command, argv);
  cexec_strv_free(&command);
  return 0;
}
