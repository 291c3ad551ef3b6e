/*
 * Linked into `klero` and the examples by build.rs; see the allocator's note in src/main.rs.
 *
 * Rust code allocates with jemalloc; the C code linked in (SQLite) allocates with glibc's malloc.
 * glibc maps an allocation of 128 KiB or more on its own and unmaps it when freed, but it raises
 * that threshold to the size of each such block freed (up to 32 MiB): after SQLite has read or
 * written one large value (a state snapshot, a filter of evicted cases: megabytes each), blocks up
 * to that size come from the heap of the thread that asked, and stay there once freed. Fixing the
 * threshold (mallopt, which turns the adjustment off) gives such blocks back when they are freed:
 * 1.8-4.2 MB held free at 10.39M entries over five starts, 1.3-2.2 MB with it fixed.
 * It runs before main, as glibc reads its own settings, before any thread is started.
 */
#include <stdlib.h> /* defines __GLIBC__ on glibc */

#if defined(__GLIBC__)
#include <malloc.h>

__attribute__((constructor)) static void klero_fixed_mmap_threshold(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}
#else
typedef int klero_malloc_tune_unused; /* another C library: nothing to tune */
#endif
