// A threadwise reduction over dimension 0, which its instance refuses
// beyond 32: the sizes change the first kept dimension (64) instead, in
// the getopt default and in main's own call alike.
#include <cstddef>
#include <cstdio>
#include <vector>
struct Args
{
    std::vector<std::size_t> inLengths = {16, 64, 32, 16};
    std::vector<int> reduceDims        = {0};
};
static int run(const std::vector<std::size_t>& lengths, const std::vector<int>& dims)
{
    std::printf("call %zu,%zu ", lengths[0], lengths[1]);
    return dims[0];
}
int main()
{
    Args a;
    std::printf("default %zu,%zu ", a.inLengths[0], a.inLengths[1]);
    return run({16, 64, 32, 960}, {0});
}
