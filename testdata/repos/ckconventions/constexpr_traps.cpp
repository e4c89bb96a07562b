// constexpr locals that only a constant may be: a case label, a read in a
// captureless lambda, a braced list that would narrow, and constants that
// are not sizes (a repeat count, a seed). Only num_rows (declared with two
// spaces after constexpr) becomes a size.
#include <cstddef>
#include <cstdio>
#include <vector>
int main(int argc, char**)
{
    constexpr  auto num_rows  = 4096;
    constexpr int block_count = 64;
    constexpr int tile_size   = 256;
    constexpr int batch_size  = 32;
    constexpr int nrepeat     = 20;
    constexpr unsigned seed   = 1234;
    int picked                = 0;
    switch(argc)
    {
    case block_count: picked = 1; break;
    default: picked = 2;
    }
    auto wrap = [](int i) { return i % tile_size; };
    std::vector<std::size_t> dims{batch_size, 2};
    std::printf("rows=%d picked=%d wrap=%d dims=%zu repeat=%d seed=%u\n", num_rows, picked, wrap(300), dims[0], nrepeat, seed);
    return 0;
}
