/* Any other driver library (libnvidia-ml, libnvidia-ptxjitcompiler, ...): only its file name and
 * soname matter to discovery and injection; one symbol names which library it is. */
const char* fake_driver_library(void) { return FAKE_LIBRARY_NAME; }
