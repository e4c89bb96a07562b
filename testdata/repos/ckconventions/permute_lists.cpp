// A permute example whose shapes are literal lists in main.
#include <cstddef>
#include <cstdio>
#include <vector>
int main()
{
    std::vector<std::size_t> nchw = {8, 16, 4, 32};
    std::vector<std::size_t> nhwc = {8, 4, 32, 16};
    std::printf("n=%zu n=%zu c=%zu\n", nchw[0], nhwc[0], nchw[1]);
    return 0;
}
