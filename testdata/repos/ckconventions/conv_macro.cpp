// A convolution example in the shape of the grouped ones: its default
// problem is a macro, argv is parsed after verify init time NDim.
#include <cstdlib>
#define DefaultProblem                                            \
    {                                                             \
        2, 4, 8, 64, 32, {3, 3}, {28, 28}, {1, 1}, {1, 1}, {1, 1}, { 1, 1 } \
    }
struct Params { int n; };
Params parse_conv_param(int ndim, int at, char** argv) { return Params{std::atoi(argv[at + 1]) + ndim}; }
int main(int argc, char* argv[])
{
    Params p{0};
    if(argc > 9)
        p = parse_conv_param(std::atoi(argv[4]), 5, argv);
    return p.n > 0 ? 0 : 1;
}
