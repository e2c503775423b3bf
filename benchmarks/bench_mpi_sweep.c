/* bench_mpi_sweep: ping-pong latency and bandwidth between ranks 0 and 1 for 8 B to 4 MiB, a 64 B
 * and a 1 MiB allreduce and a 64 B and a 64 KiB (per pair of ranks) alltoall over all ranks, for
 * the MPI bridge benchmark (run_mpi_bridge.sh) and the admin scaling benchmarks
 * (admin/cexec-scaling). Each figure is the best of several short windows (a shared machine's
 * preemptions spoil only the windows they hit). Plain C against libmpi only, so the same binary
 * runs natively, with the image's MPI and with the host's injected MPI.
 *   bench_mpi_sweep [WINDOWS (default 20)] [all|pt2pt|coll (default all)]
 * Output (rank 0): "sweep BYTES LATENCY_US BANDWIDTH_MBPS", "allreduce BYTES MICROSECONDS" and
 * "alltoall BYTES_PER_PAIR MICROSECONDS". */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double best_window(int rank, char* buf, int bytes, int iterations, int windows) {
  double best = 1e30;
  for (int w = 0; w < windows; ++w) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iterations; ++i) {
      if (rank == 0) {
        MPI_Send(buf, bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
        MPI_Recv(buf, bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(buf, bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buf, bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
      }
    }
    double t = (MPI_Wtime() - t0) / iterations;
    if (t < best) {
      best = t;
    }
  }
  return best;  /* seconds per round trip */
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int windows = argc > 1 ? atoi(argv[1]) : 20;
  const char* mode = argc > 2 ? argv[2] : "all";
  int pt2pt = strcmp(mode, "coll") != 0 && size >= 2;
  int coll = strcmp(mode, "pt2pt") != 0;
  char* buf = malloc(4 << 20);
  memset(buf, 1, 4 << 20);
  const int sizes[] = {8, 64, 512, 4096, 32768, 262144, 1 << 20, 4 << 20};
  for (size_t s = 0; pt2pt && s < sizeof sizes / sizeof sizes[0]; ++s) {
    int bytes = sizes[s];
    int iterations = bytes <= 4096 ? 200 : bytes <= (256 << 10) ? 20 : 4;
    double rt = best_window(rank, buf, bytes, iterations, windows);
    if (rank == 0) {
      printf("sweep %d %.3f %.1f\n", bytes, rt / 2 * 1e6, 2.0 * bytes / rt / 1e6);
    }
  }
  const int counts[] = {8, 1 << 17};  /* 64 B and 1 MiB of doubles */
  for (size_t c = 0; coll && c < sizeof counts / sizeof counts[0]; ++c) {
    int count = counts[c];
    double* in = calloc((size_t)count, sizeof(double));
    double* out = calloc((size_t)count, sizeof(double));
    double best = 1e30;
    for (int w = 0; w < windows; ++w) {
      int iterations = count == 8 ? 200 : 10;
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      for (int i = 0; i < iterations; ++i) {
        MPI_Allreduce(in, out, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      }
      double t = (MPI_Wtime() - t0) / iterations;
      best = t < best ? t : best;
    }
    if (rank == 0) {
      printf("allreduce %d %.3f\n", count * 8, best * 1e6);
    }
    free(in);
    free(out);
  }
  const int pair_bytes[] = {64, 64 << 10};
  for (size_t c = 0; coll && c < sizeof pair_bytes / sizeof pair_bytes[0]; ++c) {
    size_t total = (size_t)pair_bytes[c] * (size_t)size;
    char* in = calloc(total, 1);
    char* out = calloc(total, 1);
    double best = 1e30;
    for (int w = 0; w < windows; ++w) {
      int iterations = pair_bytes[c] <= 4096 ? 100 : 5;
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      for (int i = 0; i < iterations; ++i) {
        MPI_Alltoall(in, pair_bytes[c], MPI_CHAR, out, pair_bytes[c], MPI_CHAR, MPI_COMM_WORLD);
      }
      double t = (MPI_Wtime() - t0) / iterations;
      best = t < best ? t : best;
    }
    if (rank == 0) {
      printf("alltoall %d %.3f\n", pair_bytes[c], best * 1e6);
    }
    free(in);
    free(out);
  }
  fflush(stdout);
  free(buf);
  MPI_Finalize();
  return 0;
}
