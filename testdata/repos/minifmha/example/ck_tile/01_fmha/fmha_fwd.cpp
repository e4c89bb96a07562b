// kforge test fixture: the program of the generated fmha kernels.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "fmha_fwd.hpp"

struct ArgParser
{
    std::map<std::string, std::string> v;
    ArgParser& insert(const std::string& k, const std::string& d, const std::string&)
    {
        v[k] = d;
        return *this;
    }
    bool parse(int argc, char** argv)
    {
        for(int i = 1; i < argc; ++i)
        {
            std::string s = argv[i];
            size_t eq     = s.find('=');
            if(s.size() < 2 || s[0] != '-' || eq == std::string::npos || !v.count(s.substr(1, eq - 1)))
                return false;
            v[s.substr(1, eq - 1)] = s.substr(eq + 1);
        }
        return true;
    }
    int get_int(const std::string& k) { return std::atoi(v[k].c_str()); }
};

int main(int argc, char** argv)
{
    ArgParser arg;
    arg.insert("v", "1", "validate")
        .insert("mode", "0", "0: batch")
        .insert("b", "2", "batch")
        .insert("h", "4", "heads")
        .insert("s", "1000", "seqlen_q")
        .insert("s_k", "-1", "seqlen_k, -1: s")
        .insert("d", "64", "head dim")
        .insert("prec", "fp16", "data type")
        .insert("mask", "0", "no mask")
        .insert("bias", "n", "no bias")
        .insert("lse", "0", "no lse")
        .insert("p_drop", "0", "no dropout")
        .insert("vlayout", "r", "row-major v");
    if(!arg.parse(argc, argv))
    {
        std::printf("bad arguments\n");
        return 1;
    }
    fmha_fwd_args a{};
    a.batch    = arg.get_int("b");
    a.nhead    = arg.get_int("h");
    a.seqlen_q = arg.get_int("s");
    a.seqlen_k = arg.get_int("s_k") < 0 ? a.seqlen_q : arg.get_int("s_k");
    a.hdim     = arg.get_int("d");
    if(a.batch <= 0 || a.nhead <= 0 || a.seqlen_q <= 0 || a.seqlen_k <= 0)
        return 1;
    const long nq = static_cast<long>(a.batch) * a.nhead * a.seqlen_q;
    const long nk = static_cast<long>(a.batch) * a.nhead * a.seqlen_k;
    std::vector<float> q(nq), k(nk), o(nq, -1.f);
    for(long i = 0; i < nq; ++i)
        q[i] = static_cast<float>(i % 7) - 3.f;
    for(long i = 0; i < nk; ++i)
        k[i] = static_cast<float>(i % 5) * 0.25f;
    float *dq, *dk, *dout;
    (void)hipMalloc(&dq, nq * sizeof(float));
    (void)hipMalloc(&dk, nk * sizeof(float));
    (void)hipMalloc(&dout, nq * sizeof(float));
    (void)hipMemcpy(dq, q.data(), nq * sizeof(float), hipMemcpyHostToDevice);
    (void)hipMemcpy(dk, k.data(), nk * sizeof(float), hipMemcpyHostToDevice);
    a.q = dq;
    a.k = dk;
    a.o = dout;
    fmha_fwd_traits t{"fp16", a.hdim};
    t.data_type = std::string(arg.v["prec"]);
    float ms = fmha_fwd(t, a);
    if(ms < 0)
    {
        std::printf("not supported yet\n");
        return 2;
    }
    (void)hipMemcpy(o.data(), dout, nq * sizeof(float), hipMemcpyDeviceToHost);
    bool pass = true;
    for(long bh = 0; bh < static_cast<long>(a.batch) * a.nhead && pass; ++bh)
    {
        double ksum = 0;
        for(int j = 0; j < a.seqlen_k; ++j)
            ksum += k[bh * a.seqlen_k + j];
        for(int i = 0; i < a.seqlen_q; ++i)
        {
            double want = q[bh * a.seqlen_q + i] * ksum / a.seqlen_k;
            if(std::fabs(o[bh * a.seqlen_q + i] - want) > 1e-3 * (1 + std::fabs(want)))
            {
                pass = false;
                break;
            }
        }
    }
    std::printf("fmha_fwd b:%d h:%d s:%d s_k:%d d:%d, %.3f ms, valid:%s\n", a.batch, a.nhead, a.seqlen_q, a.seqlen_k, a.hdim, ms, pass ? "y" : "n");
    (void)hipFree(dq);
    (void)hipFree(dk);
    (void)hipFree(dout);
    return pass ? 0 : 1;
}
