// A batched example whose sizes live in a struct's defaults and main.
#include <cstdio>
#include <vector>
struct Problem
{
    int M           = 256;
    int N           = 128;
    int batch_count = 4;
};
int main(int argc, char* argv[])
{
    Problem p;
    if(argc == 4)
        std::printf("verify %s\n", argv[1]);
    std::printf("M=%d N=%d batches=%d\n", p.M, p.N, p.batch_count);
    return 0;
}
