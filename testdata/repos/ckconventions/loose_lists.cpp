// An elementwise program and a permute whose shapes start with a small
// batch: {4, 16, 32} and a call's {1, 320, 80} (its axis order {0, 2, 1}
// is not a shape and stays).
#include <cstddef>
#include <cstdio>
#include <vector>
static int permute(const std::vector<std::size_t>& shape, const std::vector<std::size_t>& axes)
{
    std::printf("perm=%zu,%zu,%zu axes=%zu ", shape[0], shape[1], shape[2], axes[1]);
    return 0;
}
int main()
{
    std::vector<std::size_t> mnk = {4, 16, 32};
    std::printf("m=%zu ", mnk[0]);
    return permute({1, 320, 80}, {0, 2, 1});
}
