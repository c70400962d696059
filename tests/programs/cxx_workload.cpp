/*
 * cxx_workload.cpp: a C++ program for memsnap's tests. Four threads build
 * std::map<std::string, std::vector<int>> tables, merge them under a mutex
 * and print a deterministic digest, so its output and exit code can be
 * compared between an untraced run and a run under LD_PRELOAD=libmemsnap.so.
 * It also calls every operator new/delete form (plain, nothrow, sized,
 * aligned, array) so the runtime's C++ hooks are exercised.
 */
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {

struct alignas(64) CacheLine {
    std::uint64_t words[8];
};

std::map<std::string, std::vector<int>> build_table(int seed, int entries)
{
    std::map<std::string, std::vector<int>> table;
    for (int i = 0; i < entries; i++) {
        std::string key = "key-" + std::to_string((i * 7919 + seed) % (entries * 2));
        table[key].push_back(i + seed);
    }
    return table;
}

std::uint64_t exercise_operator_new_forms()
{
    std::uint64_t sum = 0;
    int *one = new int(7);
    sum += static_cast<std::uint64_t>(*one);
    delete one;

    int *many = new int[32]();
    sum += static_cast<std::uint64_t>(many[31]);
    delete[] many;

    int *maybe = new (std::nothrow) int(3);
    if (maybe)
        sum += static_cast<std::uint64_t>(*maybe);
    delete maybe;

    auto *line = new CacheLine();
    line->words[0] = 5;
    sum += line->words[0] + (reinterpret_cast<std::uintptr_t>(line) % 64);
    delete line;

    auto *lines = new CacheLine[4]();
    sum += lines[3].words[7] + (reinterpret_cast<std::uintptr_t>(lines) % 64);
    delete[] lines;

    auto *nothrow_line = new (std::nothrow) CacheLine();
    if (nothrow_line)
        sum += reinterpret_cast<std::uintptr_t>(nothrow_line) % 64;
    delete nothrow_line;

    auto owned = std::make_unique<std::string>(100, 'x');
    sum += owned->size();
    return sum;
}

} // namespace

int main()
{
    std::map<std::string, std::vector<int>> merged;
    std::mutex merged_lock;
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; t++) {
        workers.emplace_back([t, &merged, &merged_lock] {
            auto table = build_table(t, 20000);
            std::lock_guard<std::mutex> hold(merged_lock);
            for (auto &entry : table) {
                auto &values = merged[entry.first];
                values.insert(values.end(), entry.second.begin(), entry.second.end());
            }
        });
    }
    for (auto &worker : workers)
        worker.join();

    std::uint64_t digest = 1469598103934665603ULL;
    std::size_t values = 0;
    for (auto &entry : merged) {
        for (char c : entry.first)
            digest = (digest ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
        values += entry.second.size();
    }
    std::printf("keys=%zu values=%zu digest=%016llx forms=%llu\n", merged.size(), values,
                static_cast<unsigned long long>(digest),
                static_cast<unsigned long long>(exercise_operator_new_forms()));
    return 0;
}
