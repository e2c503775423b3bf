/* A libc.so.6 stand-in defining a glibc version newer than any real glibc (GLIBC_2.99), so a
 * library linked against it needs GLIBC_2.99 from libc.so.6. Never loaded, only read. */
int future_function(void) { return 99; }
int old_function(void) { return 17; }
