/* The e2e test payload: a small static program that reports what the container gave it.
 *   probe ids                  uid, euid, gid, egid
 *   probe status               Cap* and NoNewPrivs lines of /proc/self/status
 *   probe ns                   user mnt pid net ipc uts namespace ids
 *   probe write PATH           create PATH; prints "ok" or the errno text, exits 0 or 1
 *   probe signals              prints "ready", waits; on INT TERM HUP USR1 USR2 prints "got N", exits 100+N
 *   probe exit N               exits with N
 *   probe cwd                  prints the working directory
 *   probe placement NAME...    "cpus LIST" (Cpus_allowed_list), "mems LIST" (Mems_allowed_list) and
 *                              "env NAME=VALUE" (or "env NAME unset") for each NAME
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_signal(int sig) {
  char msg[32];
  int n = snprintf(msg, sizeof msg, "got %d\n", sig);
  // Nothing to do if it fails; the exit status says the same. (A (void) cast does not silence
  // glibc's warn_unused_result under _FORTIFY_SOURCE.)
  ssize_t written = write(1, msg, (size_t)n);
  (void)written;
  _exit(100 + sig);
}

static int print_status(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[512];
  if (!f) {
    perror("status");
    return 1;
  }
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0) {
      fputs(line, stdout);
    }
  }
  fclose(f);
  return 0;
}

static int print_ns(void) {
  const char* names[] = {"user", "mnt", "pid", "net", "ipc", "uts"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
    char path[64], target[128];
    snprintf(path, sizeof path, "/proc/self/ns/%s", names[i]);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("%s %s\n", names[i], target);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe ids|status|ns|write PATH|signals|exit N|cwd\n");
    return 2;
  }
  const char* mode = argv[1];
  if (strcmp(mode, "ids") == 0) {
    printf("uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());
    return 0;
  }
  if (strcmp(mode, "status") == 0) {
    return print_status();
  }
  if (strcmp(mode, "ns") == 0) {
    return print_ns();
  }
  if (strcmp(mode, "write") == 0 && argc > 2) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
      printf("%s\n", strerror(errno));
      return 1;
    }
    close(fd);
    printf("ok\n");
    return 0;
  }
  if (strcmp(mode, "signals") == 0) {
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; ++i) {
      signal(sigs[i], on_signal);
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
      pause();
    }
  }
  if (strcmp(mode, "exit") == 0 && argc > 2) {
    return atoi(argv[2]);
  }
  if (strcmp(mode, "cwd") == 0) {
    char buf[4096];
    printf("%s\n", getcwd(buf, sizeof buf) ? buf : strerror(errno));
    return 0;
  }
  if (strcmp(mode, "placement") == 0) {
    FILE* f = fopen("/proc/self/status", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
      if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
        printf("cpus %s", line + 18 + strspn(line + 18, " \t"));
      }
    }
    if (f) {
      fclose(f);
    }
    for (int i = 2; i < argc; ++i) {
      const char* v = getenv(argv[i]);
      if (v) {
        printf("env %s=%s\n", argv[i], v);
      } else {
        printf("env %s unset\n", argv[i]);
      }
    }
    return 0;
  }
  fprintf(stderr, "probe: unknown mode %s\n", mode);
  return 2;
}
