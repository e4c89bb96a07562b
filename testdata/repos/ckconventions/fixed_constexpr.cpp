// Sizes only as compile-time constants that the types need (an array
// bound, a template argument): nothing kforge can vary at run time.
#include <array>
#include <cstdio>
template <int N>
struct Tile
{
    static constexpr int size = N;
};
int main()
{
    constexpr int M = 64;
    constexpr int K = 32;
    std::array<float, M> row{};
    Tile<K> tile;
    std::printf("%zu %d\n", row.size(), tile.size);
    return 0;
}
