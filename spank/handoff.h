/* The pure part of the SPANK plugin (docs/spank.md): the cexec command line that a step's
 * --container-* and --cexec-* options become, the plugstack.conf arguments, and the handoff from
 * the plugin (in the task, before slurmstepd's execve) to cexec-spank-exec (the program that
 * slurmstepd then executes, after the TaskProlog and the user limits) through one environment
 * variable. No SLURM header, no system call: unit-tested as any user (tests/unit/test_spank.cpp).
 * C, because the plugin is loaded into srun, sbatch, salloc, slurmd and slurmstepd: it must bring
 * neither libstdc++ nor exceptions into them. */
#ifndef CEXEC_SPANK_HANDOFF_H
#define CEXEC_SPANK_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The handoff: the cexec argv prefix, encoded (cexec_spank_encode), and the --container-env
 * names. cexec-spank-exec removes both before it executes cexec. */
#define CEXEC_SPANK_EXEC_VAR "CEXEC_SPANK_EXEC"
#define CEXEC_SPANK_ENV_VAR "CEXEC_SPANK_ENV"

/* cexec's own exit statuses for the same failures (launcher/exit_codes.cpp; the unit test checks
 * that they agree). */
enum {
  CEXEC_SPANK_EXIT_USAGE = 64,    /* a malformed option, --multi-prog */
  CEXEC_SPANK_EXIT_INTERNAL = 70, /* cexec-spank-exec started without a valid handoff */
  CEXEC_SPANK_EXIT_CONFIG = 78,   /* plugstack.conf: an unknown argument, cexec or the helper missing */
};

/* A growable, NULL-terminated vector of malloc'ed strings. */
struct cexec_strv {
  char **items;
  size_t count;
};

/* 0, or -1 when memory ran out (the vector is unchanged). */
int cexec_strv_push(struct cexec_strv *v, const char *s);
void cexec_strv_free(struct cexec_strv *v);

/* What a step asked for; NULL or false where an option is absent. */
struct cexec_container_options {
  const char *image;     /* --container-image */
  const char *mounts;    /* --container-mounts=SRC:DST[:ro],... */
  const char *env_names; /* --container-env=NAME,... */
  const char *workdir;   /* --container-workdir */
  bool writable;         /* --container-writable */
  bool no_mount_home;    /* --no-container-mount-home */
  const char *mpi;       /* --cexec-mpi */
  const char *gpu;       /* --cexec-gpu */
  const char *cpu_bind;  /* --cexec-cpu-bind */
};

/* Where the plugin finds its two programs (plugstack.conf: cexec=PATH helper=PATH). */
struct cexec_spank_config {
  const char *cexec;
  const char *helper;
};

/* Parses the plugstack.conf arguments over the defaults already in *config. Returns 0, or -1 with
 * a one-line reason in err. The strings point into argv. */
int cexec_spank_parse_args(int argc, char *const argv[], struct cexec_spank_config *config, char *err,
                           size_t err_size);

/* 0 when names is a comma-separated list of variable names, else -1 with a one-line reason. */
int cexec_spank_check_env_names(const char *names, char *err, size_t err_size);

/* The command line a task runs instead of its own: CEXEC exec [OPTIONS] IMAGE, each option in its
 * --name=value form so that no value can pass for an option; an IMAGE that starts with `-` gets
 * `./`. The task's argv follows it. Returns 0, or -1 with a one-line reason in err (no image, an
 * empty value, a --container-env name that is not a variable name); *out is then empty. */
int cexec_spank_command(const struct cexec_container_options *options, const char *cexec, struct cexec_strv *out,
                        char *err, size_t err_size);

/* The handoff's encoding: each string as DECIMAL_LENGTH ":" BYTES, concatenated, so any string
 * but one holding NUL passes unchanged. decode returns 0, or -1 for text that is not such a list
 * (or holds an empty list); *out is then empty. */
char *cexec_spank_encode(const struct cexec_strv *v);
int cexec_spank_decode(const char *text, struct cexec_strv *out);

/* --env=NAME=VALUE for each --container-env NAME that is set (lookup returns NULL for unset
 * names), VALUE escaped so that cexec takes it literally (every `$` becomes `\$`; cexec expands
 * $NAME in --env values). The host's value then wins over the image's, as with Pyxis. Returns 0,
 * or -1 when memory ran out. */
int cexec_spank_env_options(const char *names, const char *(*lookup)(const char *name, void *ctx), void *ctx,
                            struct cexec_strv *out);

/* What cexec-spank-exec executes: the command's first two words (CEXEC exec), the env options,
 * the rest of the command, then the task's arguments after its own argv[0]. Returns 0, or -1 when
 * memory ran out or the command has fewer than two words. */
int cexec_spank_exec_argv(const struct cexec_strv *command, const struct cexec_strv *env_options, int argc,
                          char *const argv[], struct cexec_strv *out);

/* Whether a task's argv is srun --multi-prog's (its configuration file's path, then the file's
 * text): `contents` is what argv[0] holds, as read by the caller, or NULL when it is unreadable. */
bool cexec_spank_is_multi_prog(int argc, char *const argv[], const char *contents);

#ifdef __cplusplus
}
#endif

#endif
