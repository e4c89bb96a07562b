// A reduction whose lengths and reduced dimensions are both literal lists:
// only the lengths move (their shared batch together).
#include <array>
#include <cstddef>
#include <cstdio>
#include <vector>
int main()
{
    const std::array<int, 2> reduceDims  = {3, 4};
    const std::vector<std::size_t> in    = {32, 40, 8, 4, 64};
    const std::vector<std::size_t> out   = {32, 40, 8};
    std::printf("%zu %zu %d\n", in[0], out[0], reduceDims[0]);
    return 0;
}
