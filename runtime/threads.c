/*
 * Thread records (threads.h): creating a thread's record on its first
 * traced call, or adopting the record of a thread that exited (its counts
 * carry on); marking a record EXITING from a thread-specific-data
 * destructor; repairing a record whose thread vanished in the middle of an
 * operation; catching up with a clear; and the fork child's adoption of
 * the records of the threads that did not follow it.
 *
 * Locking: records are created and adopted under the threads lock, which
 * also guards root.threads and the THREADS mapping being carved. A
 * record's fields are otherwise written by its owning thread only; `status`
 * is written by the owner (EXITING, from the destructor) and under the
 * lock (adoption). A record is adopted only once the kernel says its
 * thread is gone, so two threads never own one record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chunks.h"
#include "counters.h"
#include "spinlock.h"
#include "walk_memo.h"

#define RECORDS_BYTES (64u * 1024u)
#define RECORD_STRIDE ((sizeof(struct thread_state) + 63u) & ~(size_t)63u)

/* All guarded by threads_lock_word. */
static uint32_t threads_lock_word;
static struct memsnap_mapping *records_map; /* THREADS mapping being carved */

/* Set at start-up (threads_init), before the first record exists. */
static pthread_key_t exit_key;
static int exit_key_ready;

static void thread_exiting(void *arg)
{
    struct thread_state *state = arg;
    /* The thread may still call the runtime (later destructors free); it
     * keeps its record until it is gone, which adoption checks. */
    __atomic_store_n(&state->rec.status, MEMSNAP_THREAD_EXITING, __ATOMIC_RELEASE);
}

int threads_init(void)
{
    if (!exit_key_ready && pthread_key_create(&exit_key, thread_exiting) == 0)
        exit_key_ready = 1;
    return exit_key_ready ? 0 : -EAGAIN;
}

/* True when no thread of this process has the kernel tid `tid` (any more). */
static int thread_gone(uint32_t tid)
{
    int saved = errno;
    int gone = syscall(SYS_tgkill, getpid(), (pid_t)tid, 0) != 0 && errno == ESRCH;
    errno = saved;
    return gone;
}

/* A new zeroed record, linked at the head of root.threads. Lock held. */
static struct thread_state *new_record(void)
{
    if (!records_map || records_map->used + RECORD_STRIDE > records_map->size) {
        struct memsnap_mapping *map = pool_map(MEMSNAP_MAP_THREADS, RECORDS_BYTES);
        if (!map)
            return NULL;
        map->used = 64;
        records_map = map;
    }
    struct thread_state *state = (struct thread_state *)((char *)records_map + records_map->used);
    __atomic_store_n(&records_map->used, records_map->used + RECORD_STRIDE, __ATOMIC_RELEASE);
    state->rec.clear_gen = __atomic_load_n(&hot.clear_gen, __ATOMIC_ACQUIRE);
    state->rec.status = MEMSNAP_THREAD_LIVE;
    state->rec.tid = current_tid();
    state->rec.next = memsnap_root.threads;
    __atomic_store_n(&memsnap_root.threads, (uint64_t)(uintptr_t)state, __ATOMIC_RELEASE);
    return state;
}

struct thread_state *thread_first(void)
{
    return (struct thread_state *)(uintptr_t)__atomic_load_n(&memsnap_root.threads,
                                                              __ATOMIC_ACQUIRE);
}

struct thread_state *thread_next(const struct thread_state *state)
{
    return (struct thread_state *)(uintptr_t)state->rec.next;
}

/* Takes over the record: its counts, chunks and counter pages carry on.
 * Lock held, or the fork child. */
static void take_over(struct thread_state *state, int roll_back)
{
    if (roll_back)
        thread_roll_back(state);
    if (state->walk)
        memo_forget(state->walk); /* another thread's stack */
    state->rec.tid = current_tid();
    __atomic_store_n(&state->rec.status, MEMSNAP_THREAD_LIVE, __ATOMIC_RELEASE);
}

/* The record of a thread that is gone, taken over; or NULL. Lock held. */
static struct thread_state *adopt(void)
{
    for (struct thread_state *state = thread_first(); state; state = thread_next(state)) {
        if (state->rec.status == MEMSNAP_THREAD_EXITING && thread_gone(state->rec.tid)) {
            take_over(state, 1);
            return state;
        }
    }
    return NULL;
}

struct thread_state *thread_self_slow(void)
{
    if (!__atomic_load_n(&hot.ready, __ATOMIC_ACQUIRE))
        return NULL;
    spin_lock(&threads_lock_word);
    struct thread_state *state = adopt();
    if (!state)
        state = new_record();
    spin_unlock(&threads_lock_word);
    if (!state)
        return NULL;
    memsnap_tls.self = state;
    if (exit_key_ready) {
        internal_work_begin(); /* it may allocate: the internal heap's */
        pthread_setspecific(exit_key, state);
        internal_work_end();
    }
    return state;
}

void thread_roll_back(struct thread_state *state)
{
    struct memsnap_thread *rec = &state->rec;
    uint32_t op = rec->pend_op;
    if (op == MEMSNAP_OP_NONE)
        return;
    struct memsnap_slot *slot = (struct memsnap_slot *)(uintptr_t)rec->pend_slot;
    struct memsnap_counter *counter = counter_of(state, MEMSNAP_SLOT_SITE(rec->pend_meta));
    int64_t sign = op == MEMSNAP_OP_ALLOC ? -1 : 1; /* undo */
    uint64_t count = (uint64_t)sign * rec->pend_count, bytes = (uint64_t)sign * rec->pend_bytes;
    /* each update is done when its counter moved from its value before */
    if (counter && counter->live_count != rec->pend_live)
        pair_add(&counter->live_count, count, bytes);
    if (counter && counter->total_count != rec->pend_total)
        pair_add(&counter->total_count, count, bytes);
    if (rec->current != rec->pend_current) {
        rec->current += (int64_t)bytes;
        state->unfolded += (int64_t)bytes;
    }
    if (op == MEMSNAP_OP_ALLOC) {
        __atomic_store_n(&slot->addr, MEMSNAP_SLOT_FREE, __ATOMIC_RELEASE);
        slot_give_back(state, slot); /* taken from this record's chunks */
    } else if (__atomic_load_n(&slot->addr, __ATOMIC_ACQUIRE) == MEMSNAP_SLOT_FREE) {
        /* (if a clear's wipe emptied it first, the owner takes it again and
         * this block's record is lost: nothing worse) */
        __atomic_store_n(&slot->addr, rec->pend_addr, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&rec->pend_op, MEMSNAP_OP_NONE, __ATOMIC_RELEASE);
}

void thread_catch_up(struct thread_state *self)
{
    chunks_wipe(self);
    counters_wipe(self);
    __atomic_store_n(&self->rec.clear_gen, __atomic_load_n(&hot.clear_gen, __ATOMIC_ACQUIRE),
                     __ATOMIC_RELEASE);
}

int64_t threads_current(void)
{
    int64_t sum = 0;
    for (struct thread_state *state = thread_first(); state; state = thread_next(state))
        if (record_is_current(&state->rec))
            sum += __atomic_load_n(&state->rec.current, __ATOMIC_RELAXED);
    return sum;
}

void threads_lock(void)
{
    spin_lock(&threads_lock_word);
}

void threads_unlock(void)
{
    spin_unlock(&threads_lock_word);
}

void threads_after_fork_child(void)
{
    threads_lock_word = 0;
    struct thread_state *self = memsnap_tls.self;
    if (self)
        self->rec.tid = current_tid();
    for (struct thread_state *state = thread_first(); state; state = thread_next(state)) {
        if (state == self)
            continue;
        /* Its thread did not follow: undo what it had in flight, fold
         * what it had not folded, and let a new thread adopt it. */
        thread_roll_back(state);
        if (state->rec.clear_gen == memsnap_root.clear_gen)
            memsnap_root.current_bytes += (uint64_t)state->unfolded;
        state->unfolded = 0;
        state->rec.status = MEMSNAP_THREAD_EXITING;
    }
}
