// A convolution example whose parser reads G from argv[4], where NDim
// also is: argv cannot spell its sizes, so its code's batch is rewritten.
#include <cstdlib>
#define DefaultProblem                                                     \
    {                                                                      \
        2, 2, 4, 32, 16, {3, 3}, {12, 12}, {1, 1}, {1, 1}, {1, 1}, { 1, 1 } \
    }
struct Params { int g; };
Params parse_conv_param(int, int at, char** argv) { return Params{std::atoi(argv[at])}; }
int main(int argc, char* argv[])
{
    constexpr int num_config_args  = 3;
    constexpr int first_param_arg  = 1 + num_config_args;
    Params p{1};
    if(argc > 9)
        p = parse_conv_param(std::atoi(argv[4]), first_param_arg, argv);
    return p.g > 0 ? 0 : 1;
}
