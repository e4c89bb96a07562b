// A grouped GEMM whose group count lives in main and whose run flags
// include a split-K batch: without all four it prints its usage and exits
// 0 having run nothing.
#include <cstdio>
#include <cstdlib>
#include <string>
struct Config
{
    bool do_verification = true;
    int init_method      = 1;
    bool time_kernel     = false;
    int k_batch          = 1;
};
int main(int argc, char* argv[])
{
    Config config;
    int group_count = 16;
    if(argc == 5)
    {
        config.do_verification = std::stoi(argv[1]);
        config.init_method     = std::stoi(argv[2]);
        config.time_kernel     = std::stoi(argv[3]);
        config.k_batch         = std::stoi(argv[4]);
    }
    else
    {
        std::printf("arg1: verification, arg2: init, arg3: time, arg4: k_batch\n");
        std::exit(0);
    }
    std::printf("groups=%d k_batch=%d init=%d\n", group_count, config.k_batch, config.init_method);
    return 0;
}
