/* Needs GLIBC_2.99 (from future_libc) and GLIBC_2.17. */
int future_function(void);
int old_function(void);
int call_both(void) { return future_function() + old_function(); }
