/*
 * Threads created and exiting by thousands (issue 13): 4000 short threads,
 * 16 at a time, half joined and half detached, each allocating at a call
 * site of its own and a shared one, freeing some blocks, leaving some live
 * and handing one to the main thread, then exiting. At the end the table
 * is exact (each live block there with its size, no freed one, current
 * bytes equal to the table's, nothing in flight) and the runtime's memory
 * (but the table's block chunks, which grow with the live blocks) did not
 * grow with the number of threads (layout 2.0: a few more thread records
 * at most, whatever the number): what a thread costs the
 * runtime (its stack bounds, the unwinder's per-thread memo, the internal
 * heap's blocks of pthread_getattr_np) is given back or reused when it
 * exits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memsnap.h"
#include "memsnap/layout.h"
#include "test_support.h"

extern struct memsnap_root memsnap_root;

#define THREADS 4000
#define WAVE 16
#define FREED_SIZE 333u

struct thread_blocks {
    void *kept;   /* left live by the thread: 100 + n % 50 bytes */
    void *handed; /* handed to the main thread: 200 + n % 50 bytes */
};
static struct thread_blocks blocks[THREADS];
static sem_t finished;

static void *__attribute__((noinline)) shared_site(size_t size)
{
    return malloc(size);
}

static void *worker(void *arg)
{
    unsigned n = (unsigned)(uintptr_t)arg;
    void *scratch[8];
    for (int i = 0; i < 8; i++)
        scratch[i] = i & 1 ? shared_site(FREED_SIZE) : malloc(FREED_SIZE);
    blocks[n].kept = shared_site(100 + n % 50);
    blocks[n].handed = malloc(200 + n % 50);
    for (int i = 0; i < 8; i++)
        free(scratch[i]);
    sem_post(&finished);
    return NULL;
}

/* Runs threads [from, to), WAVE at a time, odd ones detached. */
static void run_threads(unsigned from, unsigned to)
{
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (unsigned wave = from; wave < to; wave += WAVE) {
        pthread_t joinable[WAVE];
        unsigned n = wave + WAVE <= to ? WAVE : to - wave;
        for (unsigned i = 0; i < n; i++) {
            unsigned id = wave + i;
            assert_int_equal(pthread_create(&joinable[i], id & 1 ? &detached : NULL, worker,
                                            (void *)(uintptr_t)id),
                             0);
        }
        for (unsigned i = 0; i < n; i++)
            while (sem_wait(&finished) != 0)
                ;
        for (unsigned i = 0; i < n; i++)
            if (!((wave + i) & 1))
                pthread_join(joinable[i], NULL);
    }
    pthread_attr_destroy(&detached);
}

static int freed_left;

static void count_freed(const struct read_block *block, void *arg)
{
    (void)arg;
    freed_left += block->size == FREED_SIZE;
}

static void expect_block(void *ptr, uint64_t size)
{
    struct read_block block;
    assert_true(find_block((uint64_t)(uintptr_t)ptr, MEMSNAP_DOMAIN_HEAP, &block));
    assert_int_equal(block.size, size);
}

/* The runtime's memory but the table's block chunks (which grow with the
 * live blocks, here 2 per thread): the sum of root.mappings. */
static uint64_t runtime_memory_but_slots(void)
{
    uint64_t bytes = 0;
    for (uint64_t m = memsnap_root.mappings; m;) {
        const struct memsnap_mapping *mapping = (const void *)(uintptr_t)m;
        if (mapping->kind != MEMSNAP_MAP_CHUNK)
            bytes += mapping->size;
        m = mapping->next;
    }
    return bytes;
}

/* Thread records in the table: one per thread that lives at once, and
 * those of exited threads not adopted yet. */
static unsigned thread_records(void)
{
    unsigned n = 0;
    for (uint64_t at = memsnap_root.threads; at;
         at = ((const struct memsnap_thread *)(uintptr_t)at)->next)
        n++;
    return n;
}

static void test_thousands_of_threads(void **state)
{
    (void)state;
    assert_int_equal(sem_init(&finished, 0, 0), 0);
    assert_int_equal(memsnap_start(16), 0);
    run_threads(0, 500);
    uint64_t runtime_after_500 = runtime_memory_but_slots();
    unsigned records_after_500 = thread_records();
    run_threads(500, THREADS);
    uint64_t runtime_after_all = runtime_memory_but_slots();
    unsigned records_after_all = thread_records();
    print_message("runtime memory but block chunks: %lu bytes and %u thread records after 500 "
                  "threads, %lu and %u after %d\n",
                  (unsigned long)runtime_after_500, records_after_500,
                  (unsigned long)runtime_after_all, records_after_all, THREADS);
    /* Records of exited threads are adopted by new ones: a few waves' worth
     * at most (a detached thread's record waits until the thread is gone),
     * whatever the number of threads; the memory grows only with them (each
     * record's counter page and walk memo, under 192 KiB) and by one more
     * 64 KiB chunk of the internal heap. */
    assert_true(records_after_all <= 4 * WAVE);
    assert_true(runtime_after_all <= runtime_after_500 +
                                         (records_after_all - records_after_500) * (192u << 10) +
                                         (64u << 10));

    for (unsigned n = 0; n < THREADS; n++) {
        expect_block(blocks[n].kept, 100 + n % 50);
        expect_block(blocks[n].handed, 200 + n % 50);
    }
    struct table_walk walk;
    freed_left = 0;
    assert_int_equal(reader_blocks(own_reader(), count_freed, NULL, &walk), 0);
    assert_int_equal(freed_left, 0);
    assert_int_equal(walk.in_flight, 0);
    size_t current, peak;
    memsnap_get_traced_memory(&current, &peak);
    assert_int_equal(walk.bytes, current);
    for (unsigned n = 0; n < THREADS; n++) {
        free(blocks[n].kept);
        free(blocks[n].handed);
    }
    memsnap_stop();
    sem_destroy(&finished);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousands_of_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
