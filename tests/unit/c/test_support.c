/*
 * The in-process test helpers of test_support.h. Lookups walk the table
 * with the tests' layout reader (O(capacity): fine for tests). run_child
 * forks and execs with memfds for stdout and stderr (the child never
 * blocks on them, even while stopped by ptrace). The tick timer and
 * copy_file serve the signal and file tests.
 */
#define _GNU_SOURCE
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memsnap.h"
#include "memsnap/layout.h"

extern struct memsnap_root memsnap_root;
extern char **environ;

const struct layout_reader *own_reader(void)
{
    static struct layout_reader reader;
    static int opened;
    if (!opened) {
        if (reader_open(&reader, read_own_memory, NULL, (uint64_t)(uintptr_t)&memsnap_root) != 0)
            abort();
        opened = 1;
    }
    return &reader;
}

struct block_query {
    uint64_t addr;
    int found;
    struct read_block blocks[8]; /* the blocks at addr, one per domain */
};

static void match_block(const struct read_block *block, void *arg)
{
    struct block_query *q = arg;
    if (block->addr == q->addr && q->found < 8)
        q->blocks[q->found++] = *block;
}

int find_block(uint64_t addr, uint32_t domain, struct read_block *out)
{
    struct block_query q = {.addr = addr};
    struct table_walk walk;
    reader_blocks(own_reader(), match_block, &q, &walk);
    /* the reader's callbacks must not call it again: domains after */
    for (int i = 0; i < q.found; i++) {
        struct read_site site;
        if (site_by_id(q.blocks[i].site_id, &site) == 0 && site.domain == domain) {
            if (out)
                *out = q.blocks[i];
            return 1;
        }
    }
    return 0;
}

struct site_query {
    uint32_t id;
    int found;
    struct read_site *out;
};

static void match_site(const struct read_site *site, void *arg)
{
    struct site_query *q = arg;
    if (site->id == q->id) {
        *q->out = *site;
        q->found = 1;
    }
}

int site_by_id(uint32_t id, struct read_site *out)
{
    static struct read_site scratch;
    struct site_query q = {id, 0, out ? out : &scratch};
    reader_sites(own_reader(), match_site, &q);
    return q.found ? 0 : -ENOENT;
}

struct table_walk walk_table(void)
{
    struct table_walk walk;
    reader_blocks(own_reader(), NULL, NULL, &walk);
    return walk;
}

long count_sites(void)
{
    return reader_sites(own_reader(), NULL, NULL);
}

/* Reads what the child wrote to `fd` (a memfd) into buf, NUL-terminated. */
static void read_back(int fd, char *buf, size_t size)
{
    size_t used = 0;
    ssize_t n;
    while (used < size - 1 && (n = pread(fd, buf + used, size - 1 - used, (off_t)used)) > 0)
        used += (size_t)n;
    buf[used] = 0;
    close(fd);
}

/* In the child: its environment minus MEMSNAP* and LD_PRELOAD, plus env. */
static void set_child_environment(const char *const env[])
{
    for (char **e = environ; *e;) {
        if (strncmp(*e, "MEMSNAP", 7) == 0 || strncmp(*e, "LD_PRELOAD=", 11) == 0) {
            char name[128];
            size_t n = strcspn(*e, "=");
            snprintf(name, sizeof name, "%.*s", (int)n, *e);
            unsetenv(name);
        } else {
            e++;
        }
    }
    for (const char *const *e = env; e && *e; e++)
        putenv((char *)*e);
}

/* Continues a traced child until its exit event (signals it receives on
 * the way are delivered), then calls at_exit. 0 or -errno. */
static int stop_at_exit(pid_t pid, const struct child_options *options)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) /* the exec stop */
        return -ECHILD;
    if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)(long)PTRACE_O_TRACEEXIT) != 0)
        return -errno;
    int deliver = 0;
    for (;;) {
        if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)deliver) != 0)
            return -errno;
        if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
            return -ECHILD;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8)))
            break;
        deliver = WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status);
    }
    options->at_exit(pid, options->arg);
    return ptrace(PTRACE_DETACH, pid, NULL, NULL) == 0 ? 0 : -errno;
}

int run_child_with(char *const argv[], const char *const env[],
                   const struct child_options *options, struct child_result *result)
{
    memset(result, 0, sizeof *result);
    int out = memfd_create("child-stdout", MFD_CLOEXEC);
    int err = memfd_create("child-stderr", MFD_CLOEXEC);
    if (out < 0 || err < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        dup2(out, 1);
        dup2(err, 2);
        if (options && options->address_limit) {
            struct rlimit limit = {options->address_limit, options->address_limit};
            setrlimit(RLIMIT_AS, &limit);
        }
        if (options && options->at_exit)
            ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        set_child_environment(env);
        execv(argv[0], argv);
        _exit(127);
    }
    int rc = options && options->at_exit ? stop_at_exit(pid, options) : 0;
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -errno;
    result->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    read_back(out, result->out, sizeof result->out);
    read_back(err, result->err, sizeof result->err);
    return rc;
}

int run_child(char *const argv[], const char *const env[], struct child_result *result)
{
    return run_child_with(argv, env, NULL, result);
}

timer_t tick_timer_start(void (*handler)(int), long interval_ns)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGPROF;
    timer_t timer;
    struct itimerspec every = {{0, interval_ns}, {0, interval_ns}};
    if (sigaction(SIGPROF, &action, NULL) != 0 ||
        timer_create(CLOCK_THREAD_CPUTIME_ID, &event, &timer) != 0 ||
        timer_settime(timer, 0, &every, NULL) != 0)
        abort();
    return timer;
}

void tick_timer_stop(timer_t timer)
{
    struct itimerspec off = {{0, 0}, {0, 0}};
    timer_settime(timer, 0, &off, NULL);
    timer_delete(timer);
    signal(SIGPROF, SIG_IGN);
}

int copy_file(const char *from, const char *to, unsigned mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int rc = in >= 0 && out >= 0 ? 0 : -errno;
    char buf[65536];
    ssize_t n = 0;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            rc = -EIO;
    if (rc == 0 && n < 0)
        rc = -errno;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int start_tracing_8_frames(void **state)
{
    (void)state;
    return memsnap_start(8);
}

int start_tracing_32_frames(void **state)
{
    (void)state;
    return memsnap_start(32);
}

int stop_tracing(void **state)
{
    (void)state;
    return memsnap_stop();
}
