// Sizes only as compile-time constants: nothing kforge can vary at run time.
#include <cstdio>
int main()
{
    constexpr int M = 64;
    std::printf("%d\n", M);
    return 0;
}
