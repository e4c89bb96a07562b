// A pooling example: batch and channels in code, no M.
int main(int argc, char* argv[])
{
    int N  = 32;
    int C  = 64;
    int Hi = 30;
    if(argc == 4)
        return 0;
    return N * C * Hi > 0 ? 0 : 1;
}
