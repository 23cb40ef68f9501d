// NL_CLONES: loops marked with it are compiled for AVX-512, AVX2+FMA and baseline x86-64 and
// picked at load time (GCC/clang ifunc), so nothing needs a -march flag. Elsewhere: one
// portable copy. Shared by the GEMM (no N-API) and the kernels (kernels/common.h).
#pragma once

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define NL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NL_CLONES
#endif
