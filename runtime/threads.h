/*
 * Thread records (threads.c): every thread that calls the runtime gets one
 * memsnap_thread record (include/memsnap/layout.h) followed by the
 * runtime's private state of that thread; the thread finds it through the
 * `self` pointer of its TLS block (internal.h). A record and everything it
 * owns (its block chunks, its counter pages) is written only by the thread
 * that owns it, so the hot path takes no lock: the one exception, a block
 * freed by another thread, takes the chunks' lock-free remote path
 * (chunks.h). When a thread exits its record is marked EXITING and, once
 * the thread is gone, adopted by a new thread with all its counts; a fork
 * child adopts the records of the threads that did not follow it. A
 * record's operation in flight (`pend_*`) is rolled back the way
 * docs/layout.md describes when a record changes hands that way.
 */
#ifndef MEMSNAP_RUNTIME_THREADS_H
#define MEMSNAP_RUNTIME_THREADS_H

#include "internal.h"

struct walk_state; /* the unwinder's per-thread memory */

/*
 * One thread's record and private state. Only the owning thread reads or
 * writes the private part (a new owner after adoption, or the fork child,
 * once the old one is gone).
 */
struct thread_state {
    struct memsnap_thread rec; /* the layout's part; must stay first */
    /* chunks.c */
    struct memsnap_slot *free_slots;  /* free slots of owned chunks, linked through meta */
    struct memsnap_chunk *bump_chunk; /* owned chunk with never-used slots [high, capacity) */
    struct memsnap_chunk *owned;      /* every owned chunk, linked through next_owned */
    /* counters.c */
    struct memsnap_counters *dir;     /* == rec.counters */
    uintptr_t arena, arena_end;       /* counter memory not handed out yet */
    int64_t unfolded;                 /* rec.current's change not yet in root.current */
    int64_t fold_limit;               /* |unfolded| that makes it fold: 0 until its first
                                       * fold (which sets root.state DRIFT), then
                                       * root.fold_bytes */
    /* tracer.c: blocks a signal handler freed while this thread's hook ran,
     * linked through their header's cookie word */
    void *deferred;
    /* the unwinder's per-thread memory (memo), NULL until the first walk */
    struct walk_state *walk;
};

/* The calling thread's state, created (or adopted) on first use; NULL when
 * the runtime is out of memory. Callers hold the reentrancy guard. */
struct thread_state *thread_self_slow(void);
static inline struct thread_state *thread_self(void)
{
    struct thread_state *self = memsnap_tls.self;
    return MEMSNAP_LIKELY(self != NULL) ? self : thread_self_slow();
}

/* Wipes the record's blocks and counters after a clear (its clear_gen is
 * behind root.clear_gen), then marks it current. Owner only. */
void thread_catch_up(struct thread_state *self);
static inline void thread_check_clear(struct thread_state *self)
{
    if (MEMSNAP_UNLIKELY(self->rec.clear_gen != __atomic_load_n(&hot.clear_gen, __ATOMIC_RELAXED)))
        thread_catch_up(self);
}

/* True when a record's clear_gen is the root's: its counters and chunks
 * count. */
static inline int record_is_current(const struct memsnap_thread *rec)
{
    return __atomic_load_n(&rec->clear_gen, __ATOMIC_ACQUIRE) ==
           __atomic_load_n(&hot.clear_gen, __ATOMIC_RELAXED);
}

/* Undoes the record's operation in flight (its thread is gone): an ALLOC
 * never happened, a FREE never happened (docs/layout.md). Threads lock held
 * or single-threaded. */
void thread_roll_back(struct thread_state *state);

/* Every record, newest first (lock-free: records are never freed). */
struct thread_state *thread_first(void);
struct thread_state *thread_next(const struct thread_state *state);

/* Sum of every current record's `current`: the traced bytes now. */
int64_t threads_current(void);

/* Fork (init.c): the threads lock, and the child's adoption of the records
 * whose threads did not follow it. */
void threads_lock(void);
void threads_unlock(void);
void threads_after_fork_child(void);

/* Start-up: the key whose destructor marks an exiting thread's record. */
int threads_init(void);

#endif /* MEMSNAP_RUNTIME_THREADS_H */
