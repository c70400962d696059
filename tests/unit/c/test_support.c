/*
 * The in-process test helpers of test_support.h. Lookups walk the table
 * with the tests' layout reader (O(capacity): fine for tests). run_child
 * forks and execs with pipes for stdout and stderr.
 */
#define _GNU_SOURCE
#include "test_support.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    uint32_t domain;
    int found;
    struct read_block block;
};

static void match_block(const struct read_block *block, void *arg)
{
    struct block_query *q = arg;
    if (block->addr != q->addr)
        return;
    struct read_site site;
    if (site_by_id(block->site_id, &site) == 0 && site.domain == q->domain) {
        q->found = 1;
        q->block = *block;
    }
}

int find_block(uint64_t addr, uint32_t domain, struct read_block *out)
{
    struct block_query q = {addr, domain, 0, {0}};
    struct table_walk walk;
    reader_blocks(own_reader(), match_block, &q, &walk);
    if (q.found && out)
        *out = q.block;
    return q.found;
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

static void drain(int fds[2], struct child_result *r)
{
    size_t used[2] = {0, 0};
    char *bufs[2] = {r->out, r->err};
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    int open_count = 2;
    while (open_count > 0) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            char chunk[1024];
            ssize_t n = read(p[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_count--;
                continue;
            }
            size_t room = sizeof r->out - 1 - used[i];
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(bufs[i] + used[i], chunk, take);
            used[i] += take;
        }
    }
    r->out[used[0]] = 0;
    r->err[used[1]] = 0;
}

int run_child(char *const argv[], const char *const env[], struct child_result *result)
{
    int out_pipe[2], err_pipe[2];
    memset(result, 0, sizeof *result);
    if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        close(out_pipe[0]);
        close(err_pipe[0]);
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
        execv(argv[0], argv);
        _exit(127);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    int fds[2] = {out_pipe[0], err_pipe[0]};
    drain(fds, result);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -errno;
    result->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    return 0;
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
