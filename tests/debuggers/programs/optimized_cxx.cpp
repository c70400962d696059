// A -O2 C++ program whose allocating functions GCC splits into a hot part
// and a ".cold" part (DW_AT_ranges with two ranges), with std::string,
// std::map and std::vector growth inlined into them: LLDB 14 has no
// Function for such code, and memsnap must still show the inlined levels
// and charge the user's lines, exactly as GDB does. Stops at checkpoint().
#include <map>
#include <string>
#include <vector>

extern "C" __attribute__((noinline)) void checkpoint(void) { __asm__ volatile(""); }

static std::vector<std::string> names;
static std::map<int, std::string> table;

__attribute__((noinline)) void fill_table(int count)
{
    for (int i = 0; i < count; i++) {
        table[i] = std::string(100, 'y');  /* map line */
    }
}

__attribute__((noinline)) void fill_names(int count)
{
    for (int i = 0; i < count; i++) {
        names.push_back(std::string(40, 'x'));  /* vector line */
    }
}

int main(int argc, char **argv)
{
    (void)argv;
    fill_table(1000 * argc);  /* fill_table call */
    fill_names(1000 * argc);
    checkpoint();
    return 0;
}
