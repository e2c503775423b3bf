/* The pure rules of the SPANK plugin: options to cexec's command line, plugstack.conf arguments,
 * the handoff encoding (handoff.h). */
#define _POSIX_C_SOURCE 200809L  /* strdup, strndup */

#include "handoff.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cexec_strv_push(struct cexec_strv *v, const char *s) {
  char *copy = strdup(s);
  if (copy == NULL) {
    return -1;
  }
  char **grown = realloc(v->items, (v->count + 2) * sizeof(char *));
  if (grown == NULL) {
    free(copy);
    return -1;
  }
  v->items = grown;
  v->items[v->count++] = copy;
  v->items[v->count] = NULL;
  return 0;
}

void cexec_strv_free(struct cexec_strv *v) {
  for (size_t i = 0; i < v->count; ++i) {
    free(v->items[i]);
  }
  free(v->items);
  v->items = NULL;
  v->count = 0;
}

static int fail(char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
  return -1;
}

int cexec_spank_parse_args(int argc, char *const argv[], struct cexec_spank_config *config, char *err,
                           size_t err_size) {
  for (int i = 0; i < argc; ++i) {
    const char *a = argv[i];
    if (strncmp(a, "cexec=", 6) == 0 && a[6] == '/') {
      config->cexec = a + 6;
    } else if (strncmp(a, "helper=", 7) == 0 && a[7] == '/') {
      config->helper = a + 7;
    } else {
      return fail(err, err_size, "plugstack.conf argument `%s`: expected cexec=/ABSOLUTE/PATH or helper=/ABSOLUTE/PATH", a);
    }
  }
  return 0;
}

static bool is_env_name(const char *s, size_t n) {
  if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) {
    return false;
  }
  for (size_t i = 1; i < n; ++i) {
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) {
      return false;
    }
  }
  return true;
}

/* Calls fn on each comma-separated word of list (empty words skipped); stops at fn's first -1. */
static int each_word(const char *list, int (*fn)(const char *word, size_t n, void *ctx), void *ctx) {
  for (const char *p = list; *p != '\0';) {
    size_t n = strcspn(p, ",");
    if (n > 0 && fn(p, n, ctx) != 0) {
      return -1;
    }
    p += n;
    if (*p == ',') {
      ++p;
    }
  }
  return 0;
}

struct name_check {
  char *err;
  size_t err_size;
};

static int check_name(const char *word, size_t n, void *ctx) {
  struct name_check *c = ctx;
  if (!is_env_name(word, n)) {
    return fail(c->err, c->err_size, "--container-env: `%.*s` is not a variable name (NAME[,NAME...])", (int)n, word);
  }
  return 0;
}

/* Appends "--NAME=VALUE" when value is set; an empty value is an error (SLURM passes one for
 * `--container-workdir=`, and cexec would read it as "no value"). */
static int push_valued(struct cexec_strv *out, const char *spank_name, const char *cexec_name, const char *value,
                       char *err, size_t err_size) {
  if (value == NULL) {
    return 0;
  }
  if (value[0] == '\0') {
    return fail(err, err_size, "--%s: empty value", spank_name);
  }
  size_t n = strlen(cexec_name) + strlen(value) + 4;
  char *word = malloc(n);
  if (word == NULL) {
    return fail(err, err_size, "out of memory");
  }
  snprintf(word, n, "--%s=%s", cexec_name, value);
  int rc = cexec_strv_push(out, word);
  free(word);
  return rc == 0 ? 0 : fail(err, err_size, "out of memory");
}

static int push_flag(struct cexec_strv *out, bool on, const char *flag, char *err, size_t err_size) {
  if (on && cexec_strv_push(out, flag) != 0) {
    return fail(err, err_size, "out of memory");
  }
  return 0;
}

static int push_image(struct cexec_strv *out, const char *image, char *err, size_t err_size) {
  if (image == NULL || image[0] == '\0') {
    return fail(err, err_size, "--container-image: empty value");
  }
  int rc;
  if (image[0] == '-') {
    size_t n = strlen(image) + 3;
    char *word = malloc(n);
    if (word == NULL) {
      return fail(err, err_size, "out of memory");
    }
    snprintf(word, n, "./%s", image);
    rc = cexec_strv_push(out, word);
    free(word);
  } else {
    rc = cexec_strv_push(out, image);
  }
  return rc == 0 ? 0 : fail(err, err_size, "out of memory");
}

int cexec_spank_check_env_names(const char *names, char *err, size_t err_size) {
  struct name_check c = {err, err_size};
  return each_word(names, check_name, &c);
}

int cexec_spank_command(const struct cexec_container_options *o, const char *cexec, struct cexec_strv *out,
                        char *err, size_t err_size) {
  int rc = o->env_names == NULL ? 0 : cexec_spank_check_env_names(o->env_names, err, err_size);
  if (rc == 0 && (cexec_strv_push(out, cexec) != 0 || cexec_strv_push(out, "exec") != 0)) {
    rc = fail(err, err_size, "out of memory");
  }
  if (rc == 0) {
    rc = push_valued(out, "container-mounts", "bind", o->mounts, err, err_size);
  }
  if (rc == 0) {
    rc = push_valued(out, "container-workdir", "pwd", o->workdir, err, err_size);
  }
  if (rc == 0) {
    rc = push_flag(out, o->writable, "--writable-tmpfs", err, err_size);
  }
  if (rc == 0) {
    rc = push_flag(out, o->no_mount_home, "--no-home", err, err_size);
  }
  if (rc == 0) {
    rc = push_valued(out, "cexec-mpi", "mpi", o->mpi, err, err_size);
  }
  if (rc == 0) {
    rc = push_valued(out, "cexec-gpu", "gpu", o->gpu, err, err_size);
  }
  if (rc == 0) {
    rc = push_valued(out, "cexec-cpu-bind", "cpu-bind", o->cpu_bind, err, err_size);
  }
  if (rc == 0) {
    rc = push_image(out, o->image, err, err_size);
  }
  if (rc != 0) {
    cexec_strv_free(out);
  }
  return rc;
}

char *cexec_spank_encode(const struct cexec_strv *v) {
  size_t n = 1;
  for (size_t i = 0; i < v->count; ++i) {
    n += strlen(v->items[i]) + 21;  /* the length in decimal and the colon */
  }
  char *text = malloc(n);
  if (text == NULL) {
    return NULL;
  }
  size_t at = 0;
  for (size_t i = 0; i < v->count; ++i) {
    size_t len = strlen(v->items[i]);
    at += (size_t)snprintf(text + at, n - at, "%zu:", len);
    memcpy(text + at, v->items[i], len);
    at += len;
  }
  text[at] = '\0';
  return text;
}

int cexec_spank_decode(const char *text, struct cexec_strv *out) {
  const char *p = text;
  char *word = NULL;
  while (*p != '\0') {
    if (!isdigit((unsigned char)*p)) {
      goto malformed;
    }
    char *end;
    errno = 0;
    unsigned long long len = strtoull(p, &end, 10);
    if (errno != 0 || *end != ':' || len > strlen(end + 1)) {
      goto malformed;
    }
    word = strndup(end + 1, (size_t)len);
    if (word == NULL || cexec_strv_push(out, word) != 0) {
      goto malformed;
    }
    free(word);
    word = NULL;
    p = end + 1 + len;
  }
  if (out->count == 0) {
    goto malformed;
  }
  return 0;
malformed:
  free(word);
  cexec_strv_free(out);
  return -1;
}

/* `$` -> `\$`: cexec's --env values expand $NAME and take `\$` for a literal `$`. */
static char *escape_dollars(const char *value) {
  size_t n = strlen(value) + 1;
  for (const char *p = value; *p != '\0'; ++p) {
    n += *p == '$';
  }
  char *out = malloc(n);
  if (out == NULL) {
    return NULL;
  }
  char *q = out;
  for (const char *p = value; *p != '\0'; ++p) {
    if (*p == '$') {
      *q++ = '\\';
    }
    *q++ = *p;
  }
  *q = '\0';
  return out;
}

struct env_ctx {
  const char *(*lookup)(const char *name, void *ctx);
  void *lookup_ctx;
  struct cexec_strv *out;
};

static int push_env(const char *word, size_t n, void *ctx) {
  struct env_ctx *c = ctx;
  char *name = strndup(word, n);
  if (name == NULL) {
    return -1;
  }
  const char *value = c->lookup(name, c->lookup_ctx);
  int rc = 0;
  if (value != NULL) {
    char *escaped = escape_dollars(value);
    size_t len = escaped == NULL ? 0 : strlen("--env=") + n + 1 + strlen(escaped) + 1;
    char *option = escaped == NULL ? NULL : malloc(len);
    if (option == NULL) {
      rc = -1;
    } else {
      snprintf(option, len, "--env=%s=%s", name, escaped);
      rc = cexec_strv_push(c->out, option);
    }
    free(option);
    free(escaped);
  }
  free(name);
  return rc;
}

int cexec_spank_env_options(const char *names, const char *(*lookup)(const char *name, void *ctx), void *ctx,
                            struct cexec_strv *out) {
  struct env_ctx c = {lookup, ctx, out};
  return names == NULL ? 0 : each_word(names, push_env, &c);
}

int cexec_spank_exec_argv(const struct cexec_strv *command, const struct cexec_strv *env_options, int argc,
                          char *const argv[], struct cexec_strv *out) {
  int rc = command->count < 2 ? -1 : 0;
  for (size_t i = 0; rc == 0 && i < 2; ++i) {
    rc = cexec_strv_push(out, command->items[i]);
  }
  for (size_t i = 0; rc == 0 && i < env_options->count; ++i) {
    rc = cexec_strv_push(out, env_options->items[i]);
  }
  for (size_t i = 2; rc == 0 && i < command->count; ++i) {
    rc = cexec_strv_push(out, command->items[i]);
  }
  for (int i = 1; rc == 0 && i < argc; ++i) {
    rc = cexec_strv_push(out, argv[i]);
  }
  if (rc != 0) {
    cexec_strv_free(out);
  }
  return rc;
}

bool cexec_spank_is_multi_prog(int argc, char *const argv[], const char *contents) {
  return argc >= 2 && contents != NULL && strcmp(argv[1], contents) == 0;
}
