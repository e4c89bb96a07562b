// A convolution whose problem is fixed in code (no parse_conv_param): the
// dimension count is a name and the fields carry comments.
struct ConvParam
{
    int ndim, g, n, k, c;
    int f[2], in[2], s[2], d[2], l[2], r[2];
};
int main()
{
    constexpr int ndim_spatial = 2;
    ConvParam p{
        ndim_spatial, // spatial dims
        1,            // groups
        16,           // batch
        64,           // output channels
        32,           // input channels
        {3, 3},       // filter
        {14, 14},     // input
        {1, 1},
        {1, 1},
        {1, 1},
        {1, 1}};
    return p.n > 0 ? 0 : 1;
}
