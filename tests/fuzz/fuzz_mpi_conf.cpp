// The MPI bridge's admin file (/etc/cexec/mpi.conf).
#include "fuzz_input.hpp"
#include "mpi_conf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)cexec::mpi_bridge::parse_mpi_conf(cexec::fuzz::as_text(data, size), "mpi.conf");
  return 0;
}
