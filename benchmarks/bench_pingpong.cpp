// bench_pingpong: MPI ping-pong between ranks 0 and 1, measured in many short windows.
//
// Owns the windowed variant of the intra-node MPI benchmark. mpi_probe (tests/mpi) reports one
// average over a long loop, which one preemption by another process on a shared 2-core machine
// can spoil; here each window is short, so a disturbance spoils only the windows it hits, and the
// best windows (lowest latency, highest bandwidth) show what the path between the two ranks can
// do, next to the median window. Run it with `mpirun -np 2`, natively or inside a container: it
// needs only the MPI library, which a container image brings along.
//
// Prints, from rank 0, lines `bench_pingpong: KEY VALUE` that bench_jobs --metric reads:
//   latency_8B_us_best, latency_8B_us_median          half round trip of an 8-byte message
//   bandwidth_4MiB_MBps_best, bandwidth_4MiB_MBps_median   2 x 4 MiB per round trip / time
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace {

struct Settings {
  int latency_windows = 300;
  int latency_iterations = 500;  // round trips per latency window
  int bandwidth_windows = 40;
  int bandwidth_iterations = 4;  // round trips per bandwidth window
  int message_bytes = 4 << 20;
};

// One round trip between ranks 0 and 1 of `bytes` each way; other ranks do nothing.
void round_trip(int rank, std::vector<char>& buffer, int bytes) {
  if (rank == 0) {
    MPI_Send(buffer.data(), bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
    MPI_Recv(buffer.data(), bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  } else if (rank == 1) {
    MPI_Recv(buffer.data(), bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Send(buffer.data(), bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
  }
}

// Seconds per window, `windows` windows of `iterations` round trips after one unmeasured window.
std::vector<double> time_windows(int rank, std::vector<char>& buffer, int bytes, int windows, int iterations) {
  std::vector<double> seconds;
  MPI_Barrier(MPI_COMM_WORLD);
  for (int w = -1; w < windows; ++w) {
    double t0 = MPI_Wtime();
    for (int i = 0; i < iterations; ++i) {
      round_trip(rank, buffer, bytes);
    }
    if (w >= 0) {
      seconds.push_back(MPI_Wtime() - t0);
    }
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds;
}

double median_of_sorted(const std::vector<double>& v) { return v[v.size() / 2]; }

int parse_positive(const char* text) {
  int v = std::atoi(text);
  return v > 0 ? v : 1;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view option = argv[i];
    if (option == "--latency-windows") {
      s.latency_windows = parse_positive(argv[i + 1]);
    } else if (option == "--bandwidth-windows") {
      s.bandwidth_windows = parse_positive(argv[i + 1]);
    }
  }
  if (size < 2) {
    if (rank == 0) {
      std::fprintf(stderr, "bench_pingpong: needs 2 ranks (mpirun -np 2)\n");
    }
    MPI_Finalize();
    return 2;
  }
  std::vector<char> buffer(static_cast<size_t>(s.message_bytes), 1);

  std::vector<double> lat = time_windows(rank, buffer, 8, s.latency_windows, s.latency_iterations);
  if (rank == 0) {
    double per = 1e6 / (2.0 * s.latency_iterations);  // window seconds -> one-way microseconds
    std::printf("bench_pingpong: latency_8B_us_best %.4f\n", lat.front() * per);
    std::printf("bench_pingpong: latency_8B_us_median %.4f\n", median_of_sorted(lat) * per);
    std::fflush(stdout);  // before the bandwidth part, which may hang where cross-memory attach fails
  }

  std::vector<double> bw =
      time_windows(rank, buffer, s.message_bytes, s.bandwidth_windows, s.bandwidth_iterations);
  if (rank == 0) {
    double bytes = 2.0 * s.bandwidth_iterations * s.message_bytes / 1e6;  // MB per window
    std::printf("bench_pingpong: bandwidth_4MiB_MBps_best %.1f\n", bytes / bw.front());
    std::printf("bench_pingpong: bandwidth_4MiB_MBps_median %.1f\n", bytes / median_of_sorted(bw));
    std::fflush(stdout);
  }
  MPI_Finalize();
  return 0;
}
