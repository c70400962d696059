/*
 * The program the traceback test runs under GDB with libmemsnap.so
 * preloaded. Built -O2 without frame pointers, it allocates through the
 * paths a frame-pointer walk gets wrong: strdup, fopen, asprintf, a qsort
 * comparator, operator new through std::vector / std::string / std::map
 * growth, a signal handler, a dlopen'd library (loaded, unloaded, and a
 * second build loaded in its place), a recursion deeper than the frame
 * limit, and several threads. Each case names itself and calls
 * case_armed(), allocates, then hands a pointer into the block it keeps to
 * hold(), which calls case_disarmed(): the test's GDB script watches every
 * allocation in between and compares the one that made the kept block.
 * The lines marked CASE are the user's calling lines the recorded
 * traceback must contain. cases_done() at the end is where the script
 * reads the trace table.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <map>
#include <string>
#include <vector>

extern "C" {
const char *volatile case_name;
__attribute__((noinline)) void case_armed(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void case_disarmed(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void cases_done(void) { __asm__ volatile("" ::: "memory"); }

static void arm(const char *name)
{
    case_name = name;
    case_armed();
}

/* Exported, so the compiler cannot drop an allocation whose block is kept. */
volatile void *case_keep[64];
int case_kept;
}

/* Keeps p (a pointer into the case's block) and ends the case. */
static void hold(const volatile void *p)
{
    case_keep[case_kept++ % 64] = (volatile void *)p;
    case_disarmed();
}

__attribute__((noinline)) static void case_strdup(const char *s)
{
    arm("strdup");
    char *p = strdup(s); /* CASE strdup */
    hold(p);
}

__attribute__((noinline)) static void case_fopen(void)
{
    arm("fopen");
    FILE *f = fopen("/dev/null", "r"); /* CASE fopen */
    hold(f);
}

__attribute__((noinline)) static void case_asprintf(int n)
{
    char *p = NULL;
    arm("asprintf");
    if (asprintf(&p, "n=%d", n) < 0) /* CASE asprintf */
        abort();
    hold(p);
}

static int compared;
static int compare_ints(const void *a, const void *b)
{
    if (compared++ == 0) {
        arm("qsort");
        hold(malloc(24)); /* CASE qsort */
    }
    return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void case_qsort(void)
{
    int v[] = {9, 4, 7, 1, 8, 2};
    qsort(v, 6, sizeof v[0], compare_ints);
}

__attribute__((noinline)) static void case_vector(std::vector<long> &v)
{
    v.reserve(4);
    for (int i = 0; i < 4; i++)
        v.push_back(i);
    arm("vector");
    v.push_back(4); /* CASE vector */
    hold(v.data());
}

__attribute__((noinline)) static void case_string(std::string &s)
{
    s.assign("short");
    arm("string");
    s.append(" and now well beyond the small-string buffer"); /* CASE string */
    hold(s.data());
}

__attribute__((noinline)) static void case_map(std::map<int, std::string> &m)
{
    arm("map");
    m[42] = "x"; /* CASE map */
    hold(&*m.find(42));
}

static void on_signal(int)
{
    arm("signal");
    hold(malloc(40)); /* CASE signal */
}

__attribute__((noinline)) static void case_signal(void)
{
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
}

__attribute__((noinline)) static int recurse(int depth)
{
    volatile int pad = depth;
    if (depth == 0) {
        arm("recursion");
        hold(malloc(16)); /* CASE recursion */
        return 0;
    }
    int r = recurse(depth - 1);
    return r + pad;
}

typedef char *(*plugin_fn)(size_t);

__attribute__((noinline)) static int case_plugin(const char *path)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return -1;
    }
    plugin_fn make = (plugin_fn)dlsym(lib, "plugin_make");
    if (make == NULL)
        return -1;
    for (int i = 0; i < 3; i++)
        free(make(8)); /* warm the unwinder's cache with this library's rules */
    arm("plugin");
    hold(make(32));
    dlclose(lib);
    return 0;
}

static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all_started;

__attribute__((noinline)) static void thread_work(int id)
{
    char name[32];
    snprintf(name, sizeof name, "worker %d", id);
    pthread_mutex_lock(&one_at_a_time);
    arm("thread");
    hold(strdup(name)); /* CASE thread */
    pthread_mutex_unlock(&one_at_a_time);
}

static void *thread_main(void *arg)
{
    pthread_barrier_wait(&all_started);
    thread_work((int)(long)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PLUGIN1 PLUGIN2\n", argv[0]);
        return 2;
    }
    case_strdup("hello");
    case_fopen();
    case_asprintf(7);
    case_qsort();
    std::vector<long> v;
    case_vector(v);
    std::string s;
    case_string(s);
    std::map<int, std::string> m;
    case_map(m);
    case_signal();
    recurse(80);
    if (case_plugin(argv[1]) != 0 || case_plugin(argv[2]) != 0)
        return 1;

    enum { NTHREADS = 3 };
    pthread_t t[NTHREADS];
    pthread_barrier_init(&all_started, NULL, NTHREADS);
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, thread_main, (void *)(i + 1));
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);

    cases_done();
    return 0;
}
