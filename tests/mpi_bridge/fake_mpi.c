/* A stand-in MPI library for the bridge's ELF tests: only its soname, file name and version
 * definitions matter. */
int MPI_Init(void* argc, void* argv) { (void)argc; (void)argv; return 0; }
int MPI_Finalize(void) { return 0; }
