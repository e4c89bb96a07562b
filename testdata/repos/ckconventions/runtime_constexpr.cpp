// An embedding lookup whose sizes are constexpr locals that only run-time
// code reads; the dimension is a template argument and stays as it is.
#include <cstdio>
#include <vector>
template <int Dim>
struct Lookup
{
    static int run(int rows, int n) { return rows / 1024 + n / 64 + Dim / 256; }
};
int main()
{
    constexpr auto num_rows     = 65536;
    constexpr int index_length  = 2048;
    constexpr int dim           = 256;
    std::vector<int> index(index_length);
    auto f = [&](int i) { return (i * 7) % num_rows; };
    for(int i = 0; i < index_length; ++i)
        index[i] = f(i);
    std::printf("rows=%d n=%zu sum=%d\n", num_rows, index.size(), Lookup<dim>::run(num_rows, index_length));
    return 0;
}
