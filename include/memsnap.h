/*
 * memsnap's C API: control the tracing runtime (libmemsnap.so) from the
 * traced program, mirroring Python's tracemalloc module functions
 * (start, stop, is_tracing, get_traceback_limit, get_traced_memory,
 * reset_peak, clear_traces, get_tracemalloc_memory, and the C-level
 * PyTraceMalloc_Track/Untrack with domains for custom allocators). The
 * snapshots themselves are taken from the debugger (memsnap, memstat,
 * memdiff), which reads the trace table described in memsnap/layout.h.
 * Functions that can fail return 0 or a negative errno value. All of them
 * may be called from a signal handler; those that change the table return
 * -EBUSY when the handler interrupted the runtime itself on this thread.
 */
#ifndef MEMSNAP_H
#define MEMSNAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MEMSNAP_API __attribute__((visibility("default")))
#else
#define MEMSNAP_API
#endif

/* The heap's domain: the malloc family and operator new. */
#define MEMSNAP_DOMAIN_HEAP 0u

/*
 * Starts tracing new allocations, keeping at most `nframes` frames per
 * stack (1..256, like tracemalloc.start(nframe)). Already tracing: does
 * nothing and returns 0 (the limit stays). -EINVAL for a bad nframes,
 * -ENOMEM when the runtime cannot map its table.
 */
MEMSNAP_API int memsnap_start(unsigned nframes);

/*
 * memsnap_start() for a process the runtime was dlopen'ed into (a debugger
 * attached to a process started without it: docs/production.md): first
 * redirects the malloc family, operator new/delete and dlopen of every
 * loaded module to the runtime (runtime/inject_got.c), and records every
 * block, or a sample of one per `sample_bytes` bytes on average when not 0.
 * Preloaded or linked, only sets the sampling and starts. Already tracing:
 * nothing changes, 0. -EINVAL, -ENOMEM as memsnap_start; -ENOTSUP when
 * another allocator than the one the runtime calls is interposed.
 */
MEMSNAP_API int memsnap_attach(unsigned nframes, unsigned long sample_bytes);

/* Stops tracing and clears every trace (like tracemalloc.stop()); the
 * traceback limit is kept. 0, or -EBUSY (see above). */
MEMSNAP_API int memsnap_stop(void);

/* 1 while new allocations are traced, else 0. */
MEMSNAP_API int memsnap_is_tracing(void);

/* Frames kept per stack: the limit of the last start, kept after stop
 * (like tracemalloc); 0 before tracing ever started. */
MEMSNAP_API int memsnap_get_traceback_limit(void);

/*
 * Current and peak size of the traced blocks, in bytes (all domains);
 * either pointer may be NULL. (0, 0) when not tracing. 0.
 */
MEMSNAP_API int memsnap_get_traced_memory(size_t *current, size_t *peak);

/* Sets the peak to the current size (like tracemalloc.reset_peak()). 0, or
 * -EBUSY (see above). With several threads the peak is kept within a
 * documented distance of the exact one (docs/runtime.md). */
MEMSNAP_API int memsnap_reset_peak(void);

/*
 * Forgets every traced block and zeroes the per-stack counters (live and
 * cumulative), the current and the peak size; tracing goes on. Interned
 * stacks are kept. 0, or -EBUSY.
 */
MEMSNAP_API int memsnap_clear_traces(void);

/* Bytes the runtime has mapped for itself (its table, stacks, indexes),
 * like tracemalloc.get_tracemalloc_memory(). */
MEMSNAP_API size_t memsnap_get_runtime_memory(void);

/*
 * Records the block [ptr, ptr + size) in `domain` with the caller's stack,
 * for a custom allocator (pool, arena, GPU memory); tracemalloc's
 * PyTraceMalloc_Track. An existing record of (domain, ptr) is replaced.
 * The same address may be tracked once per domain. Returns 0, -EAGAIN when
 * not tracing, -EINVAL for ptr 0 or UINTPTR_MAX, -EOVERFLOW when size is
 * 2^40 or more, -ENOMEM when the runtime ran out of memory, -EBUSY from a
 * signal handler that interrupted the runtime on this thread.
 */
MEMSNAP_API int memsnap_track(unsigned domain, uintptr_t ptr, size_t size);

/* Forgets the record of (domain, ptr): 0, -ENOENT when there is none, or
 * -EBUSY (see memsnap_track). */
MEMSNAP_API int memsnap_untrack(unsigned domain, uintptr_t ptr);

#ifdef __cplusplus
}
#endif

#endif /* MEMSNAP_H */
