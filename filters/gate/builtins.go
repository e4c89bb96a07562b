package gate

import "strings"

// deviceBuiltin says whether name is a HIP device function a kernel region
// may call by itself: math, conversions, synchronisation, warp operations,
// atomics, read-only loads and the AMDGPU matrix and data-movement builtins.
//
// Left out on purpose: printf and everything that writes output (a kernel
// could forge the harness's lines), malloc/free and the device heap, clocks
// and timers (clock, clock64, wall_clock64, s_memtime, s_memrealtime: a
// kernel could tell timed launches from checked ones), s_sleep, s_sendmsg,
// traps and asserts, the dispatch and kernel-argument pointers, and the
// runtime's internals (__ockl_*, __hip_*).
func deviceBuiltin(name string) bool {
	if deviceFuncs[name] {
		return true
	}
	if strings.HasPrefix(name, "__hip") && !strings.HasPrefix(name, "__hip_atomic_") {
		// The runtime's internals (device malloc, printf, the dispatch).
		return false
	}
	for _, p := range devicePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

var devicePrefixes = []string{
	// AMDGPU matrix, dot-product and cross-lane builtins.
	"__builtin_amdgcn_mfma_", "__builtin_amdgcn_smfmac_", "__builtin_amdgcn_wmma_", "__builtin_amdgcn_fdot",
	"__builtin_amdgcn_sdot", "__builtin_amdgcn_udot", "__builtin_amdgcn_dot", "__builtin_amdgcn_ds_bpermute",
	"__builtin_amdgcn_ds_permute", "__builtin_amdgcn_ds_swizzle", "__builtin_amdgcn_mov_dpp",
	"__builtin_amdgcn_update_dpp", "__builtin_amdgcn_permlane", "__builtin_amdgcn_readfirstlane",
	"__builtin_amdgcn_readlane", "__builtin_amdgcn_writelane", "__builtin_amdgcn_mbcnt_",
	"__builtin_amdgcn_workitem_id_", "__builtin_amdgcn_workgroup_id_", "__builtin_amdgcn_sched_",
	"__builtin_amdgcn_s_barrier", "__builtin_amdgcn_s_waitcnt", "__builtin_amdgcn_s_setprio",
	"__builtin_amdgcn_wave_barrier", "__builtin_amdgcn_fence", "__builtin_amdgcn_iglp_opt",
	"__builtin_amdgcn_rcp", "__builtin_amdgcn_rsq", "__builtin_amdgcn_sqrt", "__builtin_amdgcn_exp2",
	"__builtin_amdgcn_log", "__builtin_amdgcn_fmed3", "__builtin_amdgcn_cvt_", "__builtin_amdgcn_perm",
	"__builtin_amdgcn_alignbit", "__builtin_amdgcn_alignbyte", "__builtin_amdgcn_ubfe", "__builtin_amdgcn_sbfe",
	"__builtin_amdgcn_lerp", "__builtin_amdgcn_frexp", "__builtin_amdgcn_ldexp", "__builtin_amdgcn_fract",
	"__builtin_amdgcn_ballot", "__builtin_amdgcn_uicmp", "__builtin_amdgcn_icmp", "__builtin_amdgcn_fcmp",
	"__builtin_amdgcn_ds_fadd", "__builtin_amdgcn_global_atomic_fadd",
	// Half, bfloat16 and conversion intrinsics.
	"__float2", "__half2", "__double2", "__int2", "__uint2", "__ll2", "__ull2", "__short2", "__ushort2",
	"__bfloat162", "__float22", "__floats2", "__low2", "__high2", "__lows2", "__highs2", "__halves2",
	"__h", // __hadd, __hfma, __heq, … (the runtime's __hip* are excluded above)
	// Atomics (device, block and system scope).
	"atomic", "__hip_atomic_", "__atomic_", "__c11_atomic_",
	// Warp-level primitives.
	"__shfl", "__ballot", "__activemask", "__lane", "__match_", "__reduce_",
	// Read-only and cache-hinted loads and stores.
	"__ldg", "__ldc", "__ldl", "__ldlu", "__ldcv", "__ldca", "__ldcs", "__stg", "__stc", "__stw", "__stcs", "__stwb", "__stwt",
	"__builtin_nontemporal_",
	// Rounded arithmetic intrinsics (__fadd_rn, __dmul_rz, __fmaf_rd, …).
	"__fadd_", "__fsub_", "__fmul_", "__fdiv_", "__fmaf_", "__fma_", "__frcp_", "__fsqrt_", "__frsqrt_",
	"__dadd_", "__dsub_", "__dmul_", "__ddiv_", "__drcp_", "__dsqrt_",
	// Integer intrinsics.
	"__popc", "__clz", "__ffs", "__brev", "__byte_perm", "__funnelshift_", "__mul24", "__umul24", "__mulhi",
	"__umulhi", "__mul64hi", "__umul64hi", "__sad", "__usad", "__hadd", "__rhadd", "__uhadd", "__urhadd",
	"__builtin_popcount", "__builtin_clz", "__builtin_ctz", "__builtin_ffs", "__builtin_bswap", "__builtin_bitreverse",
	"__builtin_rotate",
	// Synchronisation.
	"__syncthreads", "__syncwarp", "__threadfence",
	// Vector math builtins (the scalar ones are listed by name below:
	// "__builtin_f…" would also be __builtin_frame_address).
	"__builtin_elementwise_", "__builtin_reduce_",
	// ocml's math (what the HIP math functions lower to).
	"__ocml_",
}

// deviceFuncs are single names: the CUDA/HIP math API and a few compiler
// builtins with no effect outside the kernel.
var deviceFuncs = func() map[string]bool {
	m := map[string]bool{}
	math := strings.Fields(`
		sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp exp2 exp10 expm1 log log2
		log10 log1p logb ilogb pow sqrt rsqrt cbrt rcbrt hypot rhypot fma fmin fmax fabs floor ceil round
		rint lrint llrint lround llround trunc nearbyint fmod remainder remquo modf frexp ldexp scalbn
		scalbln copysign nextafter fdim erf erfc erfinv erfcinv erfcx lgamma tgamma nan sincos sincospi
		sinpi cospi norm norm3d norm4d rnorm rnorm3d rnorm4d normcdf normcdfinv j0 j1 jn y0 y1 yn cyl_bessel_i0
		cyl_bessel_i1 signbit`)
	for _, f := range math {
		m[f] = true
		m[f+"f"] = true
		m["__builtin_"+f] = true
		m["__builtin_"+f+"f"] = true
	}
	for _, f := range strings.Fields(`
		abs labs llabs isnan isinf isfinite min max umin umax llmin llmax ullmin ullmax fminf fmaxf
		__expf __exp10f __logf __log2f __log10f __powf __sinf __cosf __tanf __sincosf __fdividef
		__saturatef __fsqrt_rn __frcp_rn __int_as_float __float_as_int __uint_as_float __float_as_uint
		__longlong_as_double __double_as_longlong __hiloint2double __double2hiint __double2loint
		__builtin_expect __builtin_assume __builtin_assume_aligned __builtin_unreachable
		__builtin_memset __builtin_addressof __builtin_launder
		__builtin_is_constant_evaluated __builtin_constant_p __builtin_offsetof __builtin_shufflevector
		__builtin_convertvector __builtin_align_up __builtin_align_down __builtin_fabsf __builtin_fabs
		__builtin_fmaf __builtin_fma __builtin_abs __builtin_amdgcn_s_barrier
		memset move forward swap declval numeric_limits get make_pair tie
		__syncthreads __syncthreads_count __syncthreads_and __syncthreads_or
		__any __all __any_sync __all_sync __uni
		__builtin_isnan __builtin_isinf __builtin_isfinite __builtin_isnormal __builtin_signbit
		__builtin_huge_val __builtin_huge_valf __builtin_inf __builtin_inff __builtin_nan __builtin_nanf
	`) {
		m[f] = true
	}
	return m
}()
