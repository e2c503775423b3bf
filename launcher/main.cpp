// cexec's entry point: run the pipeline, turn any error into one line on stderr and an exit code.
#include "error.hpp"
#include "exit_codes.hpp"
#include "pipeline.hpp"

#include <cstdio>
#include <exception>

int main(int argc, char** argv, char** envp) {
  using namespace cexec;
  try {
    return launch(std::vector<std::string>(argv + 1, argv + argc), envp);
  } catch (const Error& e) {
    std::fprintf(stderr, "cexec: %s\n", e.what());
    return exit_code_for(e.kind());
  } catch (const SysError& e) {
    std::fprintf(stderr, "cexec: %s\n", e.what());
    return exit_code_for(ErrorKind::setup_failed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cexec: internal error: %s\n", e.what());
    return exit_code_for(ErrorKind::internal);
  }
}
