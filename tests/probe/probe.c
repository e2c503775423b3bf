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
 * The isolation suite's attempts (tests/e2e/isolation_tests.cpp); each prints "ok" or the errno
 * text and exits 0 or 1, and none changes anything when it succeeds:
 *   probe open PATH r|w|path   open PATH read-only, write-only (no O_CREAT, no O_TRUNC) or O_PATH
 *   probe fds                  "N TARGET" for each open descriptor but the one listing them
 *   probe ptrace PID           PTRACE_SEIZE, then detach
 *   probe vmread PID           process_vm_readv of PID's `marker` (the same static binary: the same
 *                              address); "ok VALUE"
 *   probe mknod PATH           a character device 1:3 at PATH
 *   probe mount DIR            a tmpfs on DIR
 *   probe nestmount DIR SECS   a user and mount namespace of its own, a shared tmpfs on DIR in it,
 *                              "mounted", then holds it SECS seconds
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

/* Read by `probe vmread` in another probe process: a static binary has it at one address. */
static volatile long marker = 424242;

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

static int outcome(int rc) {
  if (rc != 0) {
    printf("%s\n", strerror(errno));
    return 1;
  }
  printf("ok\n");
  return 0;
}

static int list_fds(void) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) {
    perror("/proc/self/fd");
    return 1;
  }
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) {
      continue;
    }
    char path[300], target[4096];
    snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    printf("%s %s\n", e->d_name, target);
  }
  closedir(d);
  return 0;
}

/* No id maps: the process has every capability in the namespace it created until it execs, and a
 * root caller's payload could not map root anyway (CAP_SETFCAP, user_namespaces(7)). */
static int nested_mount(const char* dir, int seconds) {
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0 || mount("none", dir, "tmpfs", 0, NULL) != 0 ||
      mount(NULL, dir, NULL, MS_SHARED, NULL) != 0) {
    return outcome(-1);
  }
  printf("mounted\n");
  fflush(stdout);
  sleep((unsigned)seconds);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: probe ids|status|ns|write PATH|signals|exit N|cwd|placement|open|fds|ptrace|vmread|mknod|mount|nestmount\n");
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
  if (strcmp(mode, "open") == 0 && argc > 3) {
    int flags = strcmp(argv[3], "w") == 0 ? O_WRONLY : strcmp(argv[3], "path") == 0 ? O_PATH : O_RDONLY;
    int fd = open(argv[2], flags);
    if (fd >= 0) {
      close(fd);
    }
    return outcome(fd >= 0 ? 0 : -1);
  }
  if (strcmp(mode, "fds") == 0) {
    return list_fds();
  }
  if (strcmp(mode, "ptrace") == 0 && argc > 2) {
    pid_t pid = (pid_t)atoi(argv[2]);
    if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) != 0) {
      return outcome(-1);
    }
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    return outcome(0);
  }
  if (strcmp(mode, "vmread") == 0 && argc > 2) {
    long value = 0;
    struct iovec local = {&value, sizeof value};
    struct iovec remote = {(void*)&marker, sizeof value};
    if (process_vm_readv((pid_t)atoi(argv[2]), &local, 1, &remote, 1, 0) != (ssize_t)sizeof value) {
      return outcome(-1);
    }
    printf("ok %ld\n", value);
    return 0;
  }
  if (strcmp(mode, "mknod") == 0 && argc > 2) {
    return outcome(mknod(argv[2], S_IFCHR | 0666, makedev(1, 3)));
  }
  if (strcmp(mode, "mount") == 0 && argc > 2) {
    return outcome(mount("none", argv[2], "tmpfs", 0, NULL));
  }
  if (strcmp(mode, "nestmount") == 0 && argc > 3) {
    return nested_mount(argv[2], atoi(argv[3]));
  }
  fprintf(stderr, "probe: unknown mode %s\n", mode);
  return 2;
}
