/* The MPI payload of the node-instance tests and benchmarks; every line it prints starts with
 * "mpi_probe:" so tests can grep it.
 *   mpi_probe check        all ranks: same user and mount namespace; process_vm_readv on the next
 *                          rank's buffer; an allreduce; a 4 MiB ping-pong between ranks 0 and 1
 *   mpi_probe hold SECONDS barrier, print "holding", sleep, then read /etc/image-marker
 *   mpi_probe bench        8-byte latency and 4 MiB bandwidth between ranks 0 and 1
 *   mpi_probe marker       print /etc/image-marker (which image the rank sees)
 *   mpi_probe cma          only the namespace and process_vm_readv checks (they fail without a
 *                          shared user namespace, where a large ping-pong would hang instead)
 *   mpi_probe nodes        across nodes: rank 0 prints one "mpi_probe: rank R host H ..." line per
 *                          rank (host, namespaces, the framework variables, where MASTER_ADDR
 *                          resolves, whether the MPI library is the injected host one, the GPUs),
 *                          its own address, then an allreduce; the test judges the lines
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned long long ns_inode(const char* which) {
  char path[64];
  struct stat st;
  snprintf(path, sizeof path, "/proc/self/ns/%s", which);
  return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0ULL;
}

static int read_marker(char* buf, size_t size) {
  FILE* f = fopen("/etc/image-marker", "r");
  if (!f) {
    snprintf(buf, size, "cannot read /etc/image-marker: %s", strerror(errno));
    return 1;
  }
  if (!fgets(buf, (int)size, f)) {
    buf[0] = 0;
  }
  fclose(f);
  buf[strcspn(buf, "\n")] = 0;
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int check(int rank, int size, int cma_only) {
  int failures = 0;
  /* Namespaces: every rank must be in rank 0's user and mount namespace. */
  unsigned long long mine[2] = {ns_inode("user"), ns_inode("mnt")};
  unsigned long long* all = malloc(sizeof mine * (size_t)size);
  MPI_Allgather(mine, 2, MPI_UNSIGNED_LONG_LONG, all, 2, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
  int same = 1;
  for (int r = 0; r < size; ++r) {
    same &= all[2 * r] == all[0] && all[2 * r + 1] == all[1];
  }
  if (rank == 0) {
    printf("mpi_probe: namespaces %s (user %llu mnt %llu, %d ranks)\n", same ? "shared" : "DIFFER", all[0], all[1], size);
  }
  failures += !same;
  free(all);

  /* Cross-memory attach: read the next rank's buffer directly. */
  enum { cma_bytes = 1 << 16 };
  unsigned char* buffer = malloc(cma_bytes);
  memset(buffer, (unsigned char)(rank + 1), cma_bytes);
  unsigned long long me[2] = {(unsigned long long)getpid(), (unsigned long long)(uintptr_t)buffer};
  unsigned long long* peers = malloc(sizeof me * (size_t)size);
  MPI_Allgather(me, 2, MPI_UNSIGNED_LONG_LONG, peers, 2, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD);
  int next = (rank + 1) % size;
  unsigned char* copy = malloc(cma_bytes);
  struct iovec local = {copy, cma_bytes};
  struct iovec remote = {(void*)(uintptr_t)peers[2 * next + 1], cma_bytes};
  ssize_t got = process_vm_readv((pid_t)peers[2 * next], &local, 1, &remote, 1, 0);
  int cma_ok = got == cma_bytes && copy[0] == (unsigned char)(next + 1) && copy[cma_bytes - 1] == (unsigned char)(next + 1);
  if (!cma_ok) {
    printf("mpi_probe: rank %d process_vm_readv of rank %d failed: %s\n", rank, next, got < 0 ? strerror(errno) : "short read");
  }
  MPI_Barrier(MPI_COMM_WORLD);  /* keep every buffer alive until all reads are done */
  int cma_total = 0;
  MPI_Allreduce(&cma_ok, &cma_total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("mpi_probe: process_vm_readv %d/%d\n", cma_total, size);
  }
  failures += cma_total != size;
  free(buffer);
  free(copy);
  free(peers);

  if (cma_only) {
    return failures == 0 ? 0 : 1;
  }

  /* Allreduce. */
  long sum = 0, value = rank;
  MPI_Allreduce(&value, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  int sum_ok = sum == (long)size * (size - 1) / 2;
  if (rank == 0) {
    printf("mpi_probe: allreduce %s (%ld)\n", sum_ok ? "ok" : "WRONG", sum);
  }
  failures += !sum_ok;

  /* 4 MiB ping-pong between ranks 0 and 1. */
  if (size >= 2) {
    enum { big = 4 << 20 };
    char* msg = malloc(big);
    memset(msg, rank, big);
    int ok = 1;
    for (int i = 0; i < 5; ++i) {
      if (rank == 0) {
        MPI_Send(msg, big, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(msg, big, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        ok &= msg[big - 1] == 1;
        memset(msg, 0, big);
      } else if (rank == 1) {
        MPI_Recv(msg, big, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        memset(msg, 1, big);
        MPI_Send(msg, big, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
      }
    }
    if (rank == 0) {
      printf("mpi_probe: pingpong 4MiB %s\n", ok ? "ok" : "WRONG");
    }
    failures += rank == 0 && !ok;
    free(msg);
  }
  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("mpi_probe: check %s\n", total == 0 ? "passed" : "FAILED");
  }
  return total == 0 ? 0 : 1;
}

static void bench(int rank, int size) {
  if (size < 2) {
    return;
  }
  char small[8] = {0};
  int iters = 20000;
  MPI_Barrier(MPI_COMM_WORLD);
  for (int phase = 0; phase < 2; ++phase) { /* warm-up, then measure */
    double t0 = now();
    for (int i = 0; i < iters; ++i) {
      if (rank == 0) {
        MPI_Send(small, 8, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(small, 8, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(small, 8, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(small, 8, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
      }
    }
    if (rank == 0 && phase == 1) {
      printf("mpi_probe: latency_8B_us %.3f\n", (now() - t0) / iters / 2 * 1e6);
    }
  }
  enum { big = 4 << 20 };
  char* msg = malloc(big);
  memset(msg, 1, big);
  int reps = 100;
  for (int phase = 0; phase < 2; ++phase) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now();
    for (int i = 0; i < reps; ++i) {
      if (rank == 0) {
        MPI_Send(msg, big, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(msg, big, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(msg, big, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(msg, big, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
      }
    }
    if (rank == 0 && phase == 1) {
      printf("mpi_probe: bandwidth_4MiB_MBps %.1f\n", 2.0 * reps * big / (now() - t0) / 1e6);
    }
  }
  free(msg);
}

/* The first IPv4 address NAME resolves to, or "unresolved". */
static void resolve(const char* name, char* out, size_t size) {
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_INET;
  snprintf(out, size, "unresolved");
  if (name[0] != 0 && getaddrinfo(name, NULL, &hints, &res) == 0 && res != NULL) {
    inet_ntop(AF_INET, &((struct sockaddr_in*)res->ai_addr)->sin_addr, out, (socklen_t)size);
    freeaddrinfo(res);
  }
}

/* Whether this process runs the host's libmpi injected by cexec (/.cexec/host/mpi). */
static int injected_mpi(void) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[1024];
  int found = 0;
  while (f && fgets(line, sizeof line, f)) {
    found |= strstr(line, "/.cexec/host/mpi/") != NULL && strstr(line, "libmpi") != NULL; /* libmpi.so.40, libmpich.so.12 */
  }
  if (f) {
    fclose(f);
  }
  return found;
}

enum { line_size = 768 };

static int nodes(int rank, int size) {
  char host[128] = "", master[256], line[line_size];
  gethostname(host, sizeof host);
  const char* addr = getenv("MASTER_ADDR");
  resolve(addr ? addr : "", master, sizeof master);
#define ENV(name) (getenv(name) ? getenv(name) : "-")
  snprintf(line, sizeof line,
           "mpi_probe: rank %d host %s user %llu mnt %llu RANK=%s WORLD_SIZE=%s LOCAL_RANK=%s LOCAL_WORLD_SIZE=%s "
           "MASTER_ADDR=%s MASTER_PORT=%s resolves=%s mpi=%s CUDA_VISIBLE_DEVICES=%s",
           rank, host, ns_inode("user"), ns_inode("mnt"), ENV("RANK"), ENV("WORLD_SIZE"), ENV("LOCAL_RANK"),
           ENV("LOCAL_WORLD_SIZE"), ENV("MASTER_ADDR"), ENV("MASTER_PORT"), master,
           injected_mpi() ? "host" : "image", ENV("CUDA_VISIBLE_DEVICES"));
#undef ENV
  char* all = rank == 0 ? malloc((size_t)line_size * (size_t)size) : NULL;
  MPI_Gather(line, line_size, MPI_CHAR, all, line_size, MPI_CHAR, 0, MPI_COMM_WORLD);
  long one = rank + 1, sum = 0;
  MPI_Allreduce(&one, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  int ok = sum == (long)size * (size + 1) / 2;
  if (rank == 0) {
    for (int r = 0; r < size; ++r) {
      printf("%s\n", all + (size_t)r * line_size);
    }
    char self[256];
    resolve(host, self, sizeof self);
    printf("mpi_probe: rank0 host %s address %s\n", host, self);
    printf("mpi_probe: allreduce %s (%ld over %d ranks)\n", ok ? "ok" : "WRONG", sum, size);
    free(all);
  }
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1, rc = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char* mode = argc > 1 ? argv[1] : "check";
  char marker[256];
  if (strcmp(mode, "check") == 0) {
    rc = check(rank, size, 0);
  } else if (strcmp(mode, "cma") == 0) {
    rc = check(rank, size, 1);
    rc = 0;  /* the output tells; the test decides */
  } else if (strcmp(mode, "hold") == 0) {
    MPI_Barrier(MPI_COMM_WORLD);
    printf("mpi_probe: rank %d pid %d holding\n", rank, (int)getpid());
    fflush(stdout);
    sleep(argc > 2 ? (unsigned)atoi(argv[2]) : 5);
    rc = read_marker(marker, sizeof marker);
    printf("mpi_probe: rank %d after hold: %s\n", rank, marker);
  } else if (strcmp(mode, "nodes") == 0) {
    rc = nodes(rank, size);
  } else if (strcmp(mode, "bench") == 0) {
    bench(rank, size);
  } else if (strcmp(mode, "marker") == 0) {
    rc = read_marker(marker, sizeof marker);
    printf("mpi_probe: rank %d marker %s\n", rank, marker);
  } else {
    fprintf(stderr, "mpi_probe: unknown mode %s\n", mode);
    rc = 2;
  }
  fflush(stdout);
  if (rc != 0 && strcmp(mode, "hold") == 0) {
    MPI_Abort(MPI_COMM_WORLD, rc);
  }
  MPI_Finalize();
  return rc;
}
