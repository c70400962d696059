/*
 * retain_paths.c: a heap whose retention paths are known, for memwhere
 * --path and memsnap.retention_path (tests/debuggers/shared/test_retention.py).
 * A global hash table of lists (g_cache: 32 buckets of struct entry lists,
 * each entry holding a struct payload); two worker threads each keep a
 * connection (struct conn, a local of worker()) with a scratch payload and a
 * thread-local list of recent entries (t_recent: two entries, the older one
 * holding a payload), and wait in wait_for_exit() on a pipe; main keeps one
 * recent entry of its own in its t_recent; a block reached only through a void *
 * (g_opaque) that holds at +0x18 a pointer to another block; and a block
 * nothing points to. main then stops in retain_checkpoint() (where the
 * debugger breaks; RETAIN_ABORT=1 aborts there instead, for a kernel core).
 * The addresses the test asks about are in g_hidden[], xor-ed with HIDE so
 * the leak scan does not take them for pointers (HIDDEN_* indexes).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NBUCKETS 32
#define WORKERS 2
#define HIDE 0xa5a5a5a5a5a5a5a5UL

enum {
    HIDDEN_LOST, HIDDEN_PAYLOAD, HIDDEN_BEHIND, HIDDEN_CONN1, HIDDEN_SCRATCH1,
    HIDDEN_RECENT_PAYLOAD1, HIDDEN_MAIN_RECENT, NHIDDEN
};
unsigned long g_hidden[NHIDDEN];

struct payload {
    int id;
    char name[20];
};

struct entry {
    unsigned long key;
    struct entry *next;
    struct payload *payload;
};

struct table {
    unsigned nbuckets;
    struct entry *buckets[NBUCKETS];
};

struct conn {
    int fd;
    struct payload *scratch;
};

struct table *g_cache;
void *g_opaque;
static int exit_pipe[2];
static pthread_barrier_t started;
__thread struct entry *t_recent;
static struct conn *conns[WORKERS]; /* for the addresses printed; cleared before the stop */
static struct payload *recent_payloads[WORKERS]; /* the same */

__attribute__((noinline)) void retain_checkpoint(void)
{
    if (getenv("RETAIN_ABORT"))
        abort();
    __asm__ volatile("" ::: "memory");
}

/* Zero the dead stack below the caller, where calls left copies of
 * pointers (they would be shorter paths from a root). */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char dead[8192];
    memset((char *)dead, 0, sizeof dead);
}

__attribute__((noinline)) static struct payload *new_payload(int id)
{
    struct payload *p = calloc(1, sizeof *p);
    p->id = id;
    snprintf(p->name, sizeof p->name, "payload %d", id);
    return p;
}

__attribute__((noinline)) static void cache_put(unsigned long key, int id)
{
    struct entry *e = calloc(1, sizeof *e);
    e->key = key;
    e->payload = new_payload(id);
    e->next = g_cache->buckets[key % NBUCKETS];
    g_cache->buckets[key % NBUCKETS] = e;
}

__attribute__((noinline)) static void wait_for_exit(void)
{
    char byte;
    while (read(exit_pipe[0], &byte, 1) < 0)
        ;
}

static void *worker(void *arg)
{
    struct conn *conn = calloc(1, sizeof *conn);
    conn->fd = (int)(long)arg;
    conn->scratch = new_payload(100 + conn->fd);
    conns[conn->fd] = conn;
    struct entry *older = calloc(1, sizeof *older);
    older->payload = calloc(1, sizeof *older->payload);
    t_recent = calloc(1, sizeof *t_recent);
    t_recent->next = older;
    recent_payloads[conn->fd] = older->payload;
    older = NULL;
    scrub_stack();
    pthread_barrier_wait(&started);
    wait_for_exit();
    free(t_recent->next->payload);
    free(t_recent->next);
    free(t_recent);
    free(conn->scratch);
    free(conn);
    return NULL;
}

__attribute__((noinline)) static void build(void)
{
    g_cache = calloc(1, sizeof *g_cache);
    g_cache->nbuckets = NBUCKETS;
    cache_put(17, 1);       /* the deeper of the two in bucket 17 */
    cache_put(17 + NBUCKETS, 2);
    cache_put(3, 3);
    char *opaque = calloc(1, 40);
    void *behind = malloc(56);
    memset(behind, 0, 56);
    memcpy(opaque + 0x18, &behind, sizeof behind);
    g_opaque = opaque;
    char *lost = malloc(72);
    memset(lost, 0, 72);
    g_hidden[HIDDEN_LOST] = (unsigned long)lost ^ HIDE;
    g_hidden[HIDDEN_PAYLOAD] = (unsigned long)g_cache->buckets[17]->next->payload ^ HIDE;
    g_hidden[HIDDEN_BEHIND] = (unsigned long)behind ^ HIDE;
}

int main(void)
{
    pthread_t threads[WORKERS];
    if (pipe(exit_pipe))
        return 1;
    pthread_barrier_init(&started, NULL, WORKERS + 1);
    build();
    t_recent = calloc(1, sizeof(struct entry));
    g_hidden[HIDDEN_MAIN_RECENT] = (unsigned long)t_recent ^ HIDE;
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&threads[i], NULL, worker, (void *)i);
    pthread_barrier_wait(&started);
    g_hidden[HIDDEN_CONN1] = (unsigned long)conns[1] ^ HIDE;
    g_hidden[HIDDEN_SCRATCH1] = (unsigned long)conns[1]->scratch ^ HIDE;
    g_hidden[HIDDEN_RECENT_PAYLOAD1] = (unsigned long)recent_payloads[1] ^ HIDE;
    memset(conns, 0, sizeof conns);
    memset(recent_payloads, 0, sizeof recent_payloads);
    scrub_stack();
    retain_checkpoint();
    if (write(exit_pipe[1], "xx", 2) != 2)
        return 1;
    for (int i = 0; i < WORKERS; i++)
        pthread_join(threads[i], NULL);
    return 0;
}
