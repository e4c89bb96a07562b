// A getopt example: with no arguments, main runs two default problems
// spelt as literal lists in its calls, each with the dimensions it reduces
// ({0, 1, 2}): the sizes move the first problem's kept dimension (512);
// the reduced-dimension lists stay.
#include <cstddef>
#include <cstdio>
#include <vector>
static void run(const std::vector<std::size_t>& lengths, const std::vector<int>& reduce)
{
    std::printf("%zu,%zu,%d ", lengths[0], lengths[3], reduce[0]);
}
int main(int argc, char* argv[])
{
    if(argc > 1)
        return 1;
    run({64, 16, 6, 512}, {0, 1, 2});
    run({128, 16, 3, 1024}, {0, 1, 2});
    std::printf("\n");
    return 0;
}
