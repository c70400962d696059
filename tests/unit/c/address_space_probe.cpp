/*
 * A child program for tests/c/test_address_space.c: a C++ program that
 * needs a known amount of address space, run under RLIMIT_AS (ulimit -v).
 *   address_space_probe big MIB [peak]
 *     allocates MIB blocks of 1 MiB with new[] (touching one byte of each)
 *     and prints a checksum; an uncaught std::bad_alloc aborts
 *   address_space_probe small COUNT [peak]
 *     first makes malloc grow its heap in one step big enough for all it
 *     will allocate (M_TOP_PAD, no mmap'd chunks, no trimming), then
 *     allocates COUNT blocks of 40 bytes from it, kept, and prints how
 *     often malloc changed errno and a checksum: after its first
 *     allocation it needs no more address space, so it lives when the
 *     runtime does not find any
 * With "peak", its VmPeak in kB follows on a line of its own.
 */
#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

static long vm_peak_kb()
{
    FILE *f = std::fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmPeak: %ld kB", &kb) == 1)
            break;
    if (f)
        std::fclose(f);
    return kb;
}

static unsigned long big_blocks(long mib)
{
    std::vector<std::unique_ptr<char[]>> blocks;
    unsigned long sum = 0;
    for (long i = 0; i < mib; i++) {
        blocks.emplace_back(new char[1 << 20]);
        blocks.back()[i % 4096] = (char)i;
        sum += (unsigned char)blocks.back()[i % 4096];
    }
    return sum;
}

static unsigned long small_blocks(long count)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, (int)(count * 80 + (16l << 20))); /* blocks, array, slack */
    char **blocks = (char **)std::malloc((size_t)count * sizeof *blocks);
    unsigned long sum = 0;
    long errno_changes = 0;
    for (long i = 0; blocks && i < count; i++) {
        errno = 0;
        blocks[i] = (char *)std::malloc(40);
        errno_changes += errno != 0;
        std::memset(blocks[i], (int)(i & 0x7f), 40);
        sum += (unsigned char)blocks[i][i % 40];
    }
    std::printf("malloc changed errno %ld times\n", errno_changes);
    return sum;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    long n = std::atol(argv[2]);
    bool big = std::strcmp(argv[1], "big") == 0;
    unsigned long sum = big ? big_blocks(n) : small_blocks(n);
    std::printf("%s %ld: checksum %lu\n", argv[1], n, sum);
    if (argc > 3 && std::strcmp(argv[3], "peak") == 0)
        std::printf("VmPeak %ld kB\n", vm_peak_kb());
    return 0;
}
