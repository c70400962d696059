/*
 * A child program for tests/c/test_descriptors.c: a program whose output
 * depends on its descriptors staying its own. Modes:
 *   descriptor_probe log LOGFILE PLUGIN
 *     starts afresh with only 0, 1 and 2 open (closes the rest and execs
 *     itself), allocates (so the runtime reads its files now, taking the
 *     lowest free numbers), then, like a daemon, closes every descriptor
 *     above 2 and opens LOGFILE (which gets the lowest free number: one the
 *     runtime had), then dlopens PLUGIN, allocates through it, dlcloses it
 *     and allocates again, writing a log line after each step; prints each
 *     write's result and the descriptors open at each step (the log's own
 *     number shown as "log").
 *   descriptor_probe chain N [NOFILE]
 *     execs itself N more times (each generation allocates first); the
 *     last prints the descriptors it has open. NOFILE, when given, is set
 *     as RLIMIT_NOFILE by the first generation.
 * The output is the same traced or untraced when the runtime owns no
 * descriptor of the program's and leaves none open.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Prints "TAG: 0 1 2 log" (the open descriptors, /proc/self/fd's own left
 * out) with one write(2), so that stdio's buffer is never in the list. */
static void print_descriptors(const char *tag, int log_fd)
{
    char line[4096];
    int n = snprintf(line, sizeof line, "%s:", tag);
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) {
        printf("%s: opendir failed\n", tag);
        return;
    }
    struct dirent *entry;
    int numbers[1024], count = 0;
    while ((entry = readdir(dir)) != NULL && count < 1024) {
        if (entry->d_name[0] == '.' || atoi(entry->d_name) == dirfd(dir))
            continue;
        numbers[count++] = atoi(entry->d_name);
    }
    closedir(dir);
    for (int i = 0; i < count; i++) /* readdir's order is the kernel's: sort */
        for (int j = i + 1; j < count; j++)
            if (numbers[j] < numbers[i]) {
                int t = numbers[i];
                numbers[i] = numbers[j];
                numbers[j] = t;
            }
    for (int i = 0; i < count && n < (int)sizeof line - 16; i++)
        n += numbers[i] == log_fd ? snprintf(line + n, sizeof line - n, " log")
                                  : snprintf(line + n, sizeof line - n, " %d", numbers[i]);
    printf("%s\n", line);
    fflush(stdout);
}

/* Allocations from a call site of their own, kept live. */
static void *__attribute__((noinline)) allocate_here(size_t size)
{
    void *p = malloc(size);
    memset(p, 1, size);
    return p;
}

static void log_line(int fd, const char *text)
{
    ssize_t n = write(fd, text, strlen(text));
    printf("write \"%.*s\": %s\n", (int)strlen(text) - 1, text,
           n == (ssize_t)strlen(text) ? "ok" : strerror(errno));
}

static void close_above_2(void)
{
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
}

/* The first step of "log": the same program with nothing but 0, 1, 2. */
static int log_mode(char **argv)
{
    close_above_2();
    char *args[] = {argv[0], "daemon", argv[2], argv[3], NULL};
    execv("/proc/self/exe", args);
    printf("exec failed: %s\n", strerror(errno));
    return 3;
}

static int daemon_mode(const char *log_path, const char *plugin_path)
{
    free(allocate_here(100));
    fflush(stdout);
    close_above_2(); /* a daemon's start: only 0, 1 and 2 stay */
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return 2;
    print_descriptors("after closing", log_fd);
    log_line(log_fd, "started\n");
    void *plugin = dlopen(plugin_path, RTLD_NOW);
    if (!plugin) {
        printf("dlopen: %s\n", dlerror());
        return 2;
    }
    void *(*plugin_allocate)(size_t) = (void *(*)(size_t))dlsym(plugin, "plugin_allocate");
    void *kept = plugin_allocate(64);
    log_line(log_fd, "after dlopen\n");
    print_descriptors("after dlopen", log_fd);
    free(kept);
    dlclose(plugin);
    free(allocate_here(200));
    log_line(log_fd, "after dlclose\n");
    print_descriptors("after dlclose", log_fd);
    return 0;
}

static int chain_mode(char **argv, int generations, const char *nofile)
{
    if (nofile) {
        struct rlimit limit = {(rlim_t)atol(nofile), (rlim_t)atol(nofile)};
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
            return 2;
    }
    free(allocate_here(100));
    if (generations == 0) {
        print_descriptors("last generation", -1);
        return 0;
    }
    char next[16];
    snprintf(next, sizeof next, "%d", generations - 1);
    char *args[] = {argv[0], "chain", next, NULL};
    execv("/proc/self/exe", args);
    printf("generation %d: exec failed: %s\n", generations, strerror(errno));
    return 3;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "log") == 0)
        return log_mode(argv);
    if (argc == 4 && strcmp(argv[1], "daemon") == 0)
        return daemon_mode(argv[2], argv[3]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "chain") == 0)
        return chain_mode(argv, atoi(argv[2]), argc == 4 ? argv[3] : NULL);
    fprintf(stderr, "usage: descriptor_probe log LOGFILE PLUGIN | chain N [NOFILE]\n");
    return 2;
}
