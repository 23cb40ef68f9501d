// Generic tfjs kernels (see tensor_ops.h). Element-wise and layout kernels are grid-stride loops
// over the output; shapes are first simplified on the host (size-1 dims dropped, dims that stay
// contiguous merged, as native/kernels/binary.cc and transpose.cc do), and index math runs in 32
// bits with multiply-shift division whenever every offset fits, since 64-bit division would make
// these memory-bound kernels compute-bound.
#include "compat.h"

#include "tensor_ops.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace nlc {
namespace {

#ifdef NL_CUDA_EMU
#define NL_UNROLL
#else
#define NL_UNROLL _Pragma("unroll")
#endif

constexpr int kThreads = 256;
constexpr int kMaxDims = 16;              // tile doubles the rank
constexpr int64_t kMaxGrid = 1 << 16;     // grid-stride loops do the rest
#ifdef NL_TENSOR_OPS_TEST_64BIT  // tests only: every launch takes the 64-bit index path
constexpr int64_t kSmall = 0;
#else
constexpr int64_t kSmall = int64_t{1} << 31;  // below this, 32-bit index math
#endif

enum Dt : int { F32 = 0, I32 = 1, U8 = 2 };

void check_rank(int rank, const char* what) {
  if (rank < 0 || rank > kMaxRank) throw std::invalid_argument(std::string("nlc::") + what + ": rank above kMaxRank");
}

unsigned grid_for(int64_t work, int per = kThreads) {
  int64_t b = (work + per - 1) / per;
  if (b < 1) b = 1;
  if (b > kMaxGrid) b = kMaxGrid;
  return static_cast<unsigned>(b);
}

// ---------------------------------------------------------------------------------------------
// JS number semantics

// ECMAScript ToUint32 (ToInt32 and ToUint8 are its low bits): what storing a JS number into an
// Int32Array / Uint8Array does.
__host__ __device__ inline uint32_t js_u32(double d) {
  if (!(d - d == 0.0)) return 0u;  // NaN, +-inf
  double m = fmod(trunc(d), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<uint32_t>(m);
}

// The bits a JS number becomes in a typed array of dt (for fills and constants).
uint32_t js_bits(double v, int dt) {
  if (dt == F32) {
    const float f = static_cast<float>(v);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
  }
  return dt == I32 ? js_u32(v) : (js_u32(v) & 0xffu);
}

__device__ __forceinline__ double ld(const void* p, int dt, int64_t i) {
  if (dt == F32) return static_cast<const float*>(p)[i];
  if (dt == I32) return static_cast<const int32_t*>(p)[i];
  return static_cast<const uint8_t*>(p)[i];
}

__device__ __forceinline__ void st(void* p, int dt, int64_t i, double v) {
  if (dt == F32) static_cast<float*>(p)[i] = static_cast<float>(v);
  else if (dt == I32) static_cast<int32_t*>(p)[i] = static_cast<int32_t>(js_u32(v));
  else static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(js_u32(v));
}

__device__ __forceinline__ float f_nan() { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ float f_inf() { return __int_as_float(0x7f800000); }

// ---------------------------------------------------------------------------------------------
// Index math

// n / d for n < 2^31 by multiply and shift (Granlund-Montgomery, as PyTorch's IntDivider).
struct DivMod32 {
  uint32_t d, m, s;
};

DivMod32 make_divmod(uint32_t d) {
  uint32_t s = 0;
  while ((uint64_t{1} << s) < d) s++;
  const uint64_t m = ((uint64_t{1} << 32) * ((uint64_t{1} << s) - d)) / d + 1;
  return {d, static_cast<uint32_t>(m), s};
}

__device__ __forceinline__ uint32_t divq(const DivMod32& q, uint32_t n) { return (__umulhi(n, q.m) + n) >> q.s; }

// An n-d index space (innermost dim last) with element strides of up to two inputs.
struct View {
  int rank;
  int64_t shape[kMaxDims];
  int64_t st[2][kMaxDims];
};

// Drops size-1 dims and merges a dim into the one inside it when both inputs stay contiguous
// (or broadcast) across the pair; leaves rank >= 1.
void simplify(View& v) {
  int r = 0;
  for (int d = 0; d < v.rank; d++) {
    if (v.shape[d] == 1) continue;
    v.shape[r] = v.shape[d]; v.st[0][r] = v.st[0][d]; v.st[1][r] = v.st[1][d];
    r++;
  }
  int m = 0;
  for (int d = 0; d < r; d++) {
    if (m > 0 && v.st[0][m - 1] == v.st[0][d] * v.shape[d] && v.st[1][m - 1] == v.st[1][d] * v.shape[d]) {
      v.shape[m - 1] *= v.shape[d]; v.st[0][m - 1] = v.st[0][d]; v.st[1][m - 1] = v.st[1][d];
    } else {
      v.shape[m] = v.shape[d]; v.st[0][m] = v.st[0][d]; v.st[1][m] = v.st[1][d];
      m++;
    }
  }
  if (m == 0) { v.shape[0] = 1; v.st[0][0] = 0; v.st[1][0] = 0; m = 1; }
  v.rank = m;
}

int64_t view_size(const View& v) {
  int64_t n = 1;
  for (int d = 0; d < v.rank; d++) n *= v.shape[d];
  return n;
}

// Whether every index and offset of the view fits the 32-bit path.
bool view_small(const View& v) {
  if (view_size(v) >= kSmall) return false;
  for (int k = 0; k < 2; k++) {
    int64_t hi = 0;
    for (int d = 0; d < v.rank; d++) hi += (v.shape[d] - 1) * v.st[k][d];
    if (hi >= kSmall) return false;
  }
  return true;
}

struct Map32 {
  int rank;
  DivMod32 dm[kMaxDims];
  uint32_t st0[kMaxDims], st1[kMaxDims];
};
struct Map64 {
  int rank;
  int64_t shape[kMaxDims], st0[kMaxDims], st1[kMaxDims];
};

Map32 make_map32(const View& v) {
  Map32 m;
  std::memset(&m, 0, sizeof m);
  m.rank = v.rank;
  for (int d = 0; d < v.rank; d++) {
    m.dm[d] = make_divmod(static_cast<uint32_t>(v.shape[d]));
    m.st0[d] = static_cast<uint32_t>(v.st[0][d]);
    m.st1[d] = static_cast<uint32_t>(v.st[1][d]);
  }
  return m;
}
Map64 make_map64(const View& v) {
  Map64 m;
  std::memset(&m, 0, sizeof m);
  m.rank = v.rank;
  for (int d = 0; d < v.rank; d++) { m.shape[d] = v.shape[d]; m.st0[d] = v.st[0][d]; m.st1[d] = v.st[1][d]; }
  return m;
}

// Offsets into both inputs of output element i.
__device__ __forceinline__ void offsets(const Map32& m, int64_t i64, int64_t& o0, int64_t& o1) {
  uint32_t i = static_cast<uint32_t>(i64), a = 0, b = 0;
NL_UNROLL
  for (int d = kMaxDims - 1; d > 0; d--) {
    if (d < m.rank) {
      const uint32_t q = divq(m.dm[d], i), c = i - q * m.dm[d].d;
      a += c * m.st0[d]; b += c * m.st1[d]; i = q;
    }
  }
  o0 = a + i * m.st0[0]; o1 = b + i * m.st1[0];
}
__device__ __forceinline__ void offsets(const Map64& m, int64_t i, int64_t& o0, int64_t& o1) {
  int64_t a = 0, b = 0;
NL_UNROLL
  for (int d = kMaxDims - 1; d > 0; d--) {
    if (d < m.rank) {
      const int64_t q = i / m.shape[d], c = i - q * m.shape[d];
      a += c * m.st0[d]; b += c * m.st1[d]; i = q;
    }
  }
  o0 = a + i * m.st0[0]; o1 = b + i * m.st1[0];
}

#define NL_GRID_STRIDE(i, n) \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// ---------------------------------------------------------------------------------------------
// Unary

// erf exactly as tfjs' cpu kernel (Abramowitz-Stegun 7.1.26 in double), as native/kernels/vmath.h.
__device__ __forceinline__ float erf_tfjs(float xf) {
  const double x = xf, v = fabs(x);
  const double t = 1.0 / (1.0 + 0.3275911 * v);
  const double poly = ((((1.061405429 * t + -1.453152027) * t + 1.421413741) * t + -0.284496736) * t + 0.254829592) * t;
  const double y = 1.0 - poly * exp(-v * v);
  const float r = static_cast<float>(copysign(y, x));
  return xf == 0.0f ? xf : r;  // Math.sign(+-0) = +-0
}

__device__ __forceinline__ float unary_f32(int op, float v, float alpha) {
  switch (op) {
    case kNeg: return -v;
    case kExp: return expf(v);
    case kLog: return logf(v);
    case kSqrt: return sqrtf(v);
    case kRsqrt: return static_cast<float>(1.0 / sqrt(static_cast<double>(v)));
    case kSquare: return v * v;
    case kRelu: return v > 0.0f ? v : (v != v ? v : 0.0f);  // Math.max(0, x): NaN stays, -0 -> 0
    case kStep: return v != v ? v : (v > 0.0f ? 1.0f : alpha);
    case kTanh: return tanhf(v);
    case kErf: return erf_tfjs(v);
    case kFloor: return floorf(v);
    case kAbs: return fabsf(v);
    case kSigmoid: return 1.0f / (1.0f + expf(-v));
    case kReciprocal: return 1.0f / v;
    case kCeil: return ceilf(v);
    default: return 0.0f;
  }
}

// The JS definition of each op, for every other dtype combination.
__device__ __forceinline__ double unary_js(int op, double v, double alpha) {
  switch (op) {
    case kNeg: return -v;
    case kExp: return exp(v);
    case kLog: return log(v);
    case kSqrt: return sqrt(v);
    case kRsqrt: return 1.0 / sqrt(v);
    case kSquare: return v * v;
    case kRelu: return v > 0 ? v : (v != v ? v : 0.0);
    case kStep: return v != v ? v : (v > 0 ? 1.0 : alpha);
    case kTanh: return tanh(v);
    case kErf: return erf_tfjs(static_cast<float>(v));
    case kFloor: return floor(v);
    case kLogicalNot: return (v == 0 || v != v) ? 1.0 : 0.0;
    case kAbs: return fabs(v);
    case kSigmoid: return 1.0 / (1.0 + exp(-v));
    case kReciprocal: return 1.0 / v;
    case kCeil: return ceil(v);
    default: return 0.0;
  }
}

__global__ void unary_f32_kernel(int op, const float* x, float* out, int64_t n, float alpha) {
  NL_GRID_STRIDE(i, n) out[i] = unary_f32(op, x[i], alpha);
}

__global__ void unary_js_kernel(int op, int xdt, int odt, const void* x, void* out, int64_t n, float alpha) {
  NL_GRID_STRIDE(i, n) st(out, odt, i, unary_js(op, ld(x, xdt, i), alpha));
}

// ---------------------------------------------------------------------------------------------
// Binary

// Math.max / Math.min on floats: NaN wins, max(-0, 0) = 0, min(-0, 0) = -0 (bitwise and / or).
__device__ __forceinline__ float js_max_f(float x, float y) {
  float r = x > y ? x : y;
  r = x == y ? __int_as_float(__float_as_int(x) & __float_as_int(y)) : r;
  return (x != x || y != y) ? x + y : r;
}
__device__ __forceinline__ float js_min_f(float x, float y) {
  float r = x < y ? x : y;
  r = x == y ? __int_as_float(__float_as_int(x) | __float_as_int(y)) : r;
  return (x != x || y != y) ? x + y : r;
}

__device__ __forceinline__ float arith_f32(int op, float x, float y) {
  switch (op) {
    case kAdd: return x + y;
    case kSub: return x - y;
    case kMul: return x * y;
    case kDiv: return x / y;
    case kMax: return js_max_f(x, y);
    case kMin: return js_min_f(x, y);
    case kPow: return static_cast<float>(pow(static_cast<double>(x), static_cast<double>(y)));
    case kSquaredDifference: { const float d = x - y; return d * d; }
    case kFloorDiv: return static_cast<float>(floor(static_cast<double>(x) / static_cast<double>(y)));
    default: return 0.0f;
  }
}

__device__ __forceinline__ uint8_t cmp_f32(int op, float x, float y) {
  switch (op) {
    case kEqual: return x == y;
    case kNotEqual: return x != y;
    case kLess: return x < y;
    case kLessEqual: return x <= y;
    case kGreater: return x > y;
    case kGreaterEqual: return x >= y;
    default: return 0;
  }
}

__device__ __forceinline__ bool neg_sign(double x) { return copysign(1.0, x) < 0; }

__device__ __forceinline__ double binary_js(int op, double x, double y) {
  switch (op) {
    case kAdd: return x + y;
    case kSub: return x - y;
    case kMul: return x * y;
    case kDiv: return x / y;
    case kMax: return (x != x || y != y) ? x + y : (x > y ? x : (y > x ? y : (neg_sign(x) ? y : x)));
    case kMin: return (x != x || y != y) ? x + y : (x < y ? x : (y < x ? y : (neg_sign(x) ? x : y)));
    case kPow: return pow(x, y);
    case kSquaredDifference: return (x - y) * (x - y);
    case kFloorDiv: return floor(x / y);
    case kEqual: return x == y;
    case kNotEqual: return x != y;
    case kLess: return x < y;
    case kLessEqual: return x <= y;
    case kGreater: return x > y;
    case kGreaterEqual: return x >= y;
    case kLogicalAnd: return (x != 0 && x == x) && (y != 0 && y == y);
    case kLogicalOr: return (x != 0 && x == x) || (y != 0 && y == y);
    default: return 0.0;
  }
}

enum Kind { kArith, kCmp, kJs };
enum Layout { kContig, kScalarA, kScalarB, kStrided };

struct BinArgs {
  int op, adt, bdt, odt;
  const void* a;
  const void* b;
  void* out;
  int64_t n;
};

template <int K, int L, class M>
__global__ void binary_kernel(BinArgs p, M map) {
  NL_GRID_STRIDE(i, p.n) {
    int64_t ia, ib;
    if constexpr (L == kContig) { ia = i; ib = i; }
    else if constexpr (L == kScalarA) { ia = 0; ib = i; }
    else if constexpr (L == kScalarB) { ia = i; ib = 0; }
    else offsets(map, i, ia, ib);
    if constexpr (K == kArith) {
      static_cast<float*>(p.out)[i] = arith_f32(p.op, static_cast<const float*>(p.a)[ia], static_cast<const float*>(p.b)[ib]);
    } else if constexpr (K == kCmp) {
      static_cast<uint8_t*>(p.out)[i] = cmp_f32(p.op, static_cast<const float*>(p.a)[ia], static_cast<const float*>(p.b)[ib]);
    } else {
      st(p.out, p.odt, i, binary_js(p.op, ld(p.a, p.adt, ia), ld(p.b, p.bdt, ib)));
    }
  }
}

template <int K>
void launch_binary(const BinArgs& p, const View& v, cudaStream_t stream) {
  const unsigned g = grid_for(p.n);
  const Map32 dummy = {};
  if (v.rank == 1 && v.st[0][0] == 1 && v.st[1][0] == 1) {
    NL_LAUNCH((binary_kernel<K, kContig, Map32>), g, kThreads, 0, stream, p, dummy);
  } else if (v.rank == 1 && v.st[0][0] == 0 && v.st[1][0] == 1) {
    NL_LAUNCH((binary_kernel<K, kScalarA, Map32>), g, kThreads, 0, stream, p, dummy);
  } else if (v.rank == 1 && v.st[0][0] == 1 && v.st[1][0] == 0) {
    NL_LAUNCH((binary_kernel<K, kScalarB, Map32>), g, kThreads, 0, stream, p, dummy);
  } else if (view_small(v)) {
    NL_LAUNCH((binary_kernel<K, kStrided, Map32>), g, kThreads, 0, stream, p, make_map32(v));
  } else {
    NL_LAUNCH((binary_kernel<K, kStrided, Map64>), g, kThreads, 0, stream, p, make_map64(v));
  }
}

// ---------------------------------------------------------------------------------------------
// Cast, select, fill

__global__ void cast_kernel(int from, int to, const void* x, void* out, int64_t n) {
  NL_GRID_STRIDE(i, n) {
    const double v = ld(x, from, i);
    if (to == U8) static_cast<uint8_t*>(out)[i] = v != 0 ? 1 : 0;  // NaN != 0
    else st(out, to, i, v);
  }
}

template <class T>
__global__ void select_kernel(const uint8_t* c, const T* t, const T* e, T* out, int64_t n) {
  NL_GRID_STRIDE(i, n) out[i] = c[i] == 1 ? t[i] : e[i];
}

template <class T>
__global__ void fill_kernel(T* out, int64_t n, T v) {
  NL_GRID_STRIDE(i, n) out[i] = v;
}

void fill_bits(void* out, int64_t n, uint32_t bits, int dt, cudaStream_t stream) {
  if (n <= 0) return;
  if (dt == U8) {
    NL_LAUNCH((fill_kernel<uint8_t>), grid_for(n), kThreads, 0, stream, static_cast<uint8_t*>(out), n,
              static_cast<uint8_t>(bits));
  } else {
    NL_LAUNCH((fill_kernel<uint32_t>), grid_for(n), kThreads, 0, stream, static_cast<uint32_t*>(out), n, bits);
  }
}

// ---------------------------------------------------------------------------------------------
// Layout: strided copies (transpose, tile, slice), tiled transpose, pad, concat / split

template <class T, class M>
__global__ void copy_kernel(T* out, const T* in, int64_t n, M map) {
  NL_GRID_STRIDE(i, n) {
    int64_t o0, o1;
    offsets(map, i, o0, o1);
    out[i] = in[o0];
  }
}

// out[i] = in[offset of i in v (input 0)]; v must be simplified.
template <class T>
void launch_copy(T* out, const T* in, const View& v, cudaStream_t stream) {
  const int64_t n = view_size(v);
  if (v.rank == 1 && v.st[0][0] == 1) {
    NL_CUDA_CHECK(cudaMemcpyAsync(out, in, static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice, stream));
  } else if (view_small(v)) {
    NL_LAUNCH((copy_kernel<T, Map32>), grid_for(n), kThreads, 0, stream, out, in, n, make_map32(v));
  } else {
    NL_LAUNCH((copy_kernel<T, Map64>), grid_for(n), kThreads, 0, stream, out, in, n, make_map64(v));
  }
}

// 2-d transpose of 32x32 tiles through shared memory between output dim j (size A, contiguous in
// the input) and the last output dim (size B, contiguous in the output), for every index of the
// remaining (batch) dims; both global reads and writes coalesce.
struct TileArgs {
  int64_t A, B, ib, oa, tilesA, tiles, nbatch;
  int rr;
  int64_t bshape[kMaxDims], bin[kMaxDims], bout[kMaxDims];
};

template <class T>
__global__ void transpose_tiled_kernel(T* out, const T* in, TileArgs p) {
  __shared__ T tile[32][33];
  NL_SHARED_GARBAGE(tile);
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t z = blockIdx.y; z < p.nbatch; z += gridDim.y) {
    int64_t ibase = 0, obase = 0, r = z;
    for (int q = p.rr - 1; q >= 0; q--) {
      const int64_t c = r % p.bshape[q];
      r /= p.bshape[q];
      ibase += c * p.bin[q]; obase += c * p.bout[q];
    }
    for (int64_t t = blockIdx.x; t < p.tiles; t += gridDim.x) {
      const int64_t a0 = (t % p.tilesA) * 32, b0 = (t / p.tilesA) * 32;
      for (int k = ty; k < 32; k += 8) {
        const int64_t a = a0 + tx, b = b0 + k;
        if (a < p.A && b < p.B) tile[k][tx] = in[ibase + a + b * p.ib];
      }
      __syncthreads();
      for (int k = ty; k < 32; k += 8) {
        const int64_t a = a0 + k, b = b0 + tx;
        if (a < p.A && b < p.B) out[obase + a * p.oa + b] = tile[tx][k];
      }
      __syncthreads();
    }
  }
}

template <class T>
void transpose_t(T* out, const T* in, const Shape& shape, const int* perm, cudaStream_t stream) {
  const int rank = shape.rank;
  int64_t istr[kMaxRank];
  int64_t n = 1;
  for (int d = rank - 1; d >= 0; d--) { istr[d] = n; n *= shape.d[d]; }
  if (n == 0) return;
  View v;
  v.rank = rank;
  for (int k = 0; k < rank; k++) { v.shape[k] = shape.d[perm[k]]; v.st[0][k] = istr[perm[k]]; v.st[1][k] = 0; }
  simplify(v);
  const int m = v.rank;
  if (m == 1 || v.st[0][m - 1] == 1) { launch_copy(out, in, v, stream); return; }  // rows stay rows
  // the output dim that reads the input's contiguous dim (it exists: trailing size-1 dims dropped)
  int j = 0;
  for (int k = 0; k < m; k++) if (v.st[0][k] == 1) j = k;
  int64_t ostr[kMaxDims];
  ostr[m - 1] = 1;
  for (int k = m - 2; k >= 0; k--) ostr[k] = ostr[k + 1] * v.shape[k + 1];
  TileArgs p;
  std::memset(&p, 0, sizeof p);
  p.A = v.shape[j]; p.B = v.shape[m - 1]; p.ib = v.st[0][m - 1]; p.oa = ostr[j];
  p.tilesA = (p.A + 31) / 32;
  p.tiles = p.tilesA * ((p.B + 31) / 32);
  p.nbatch = 1;
  for (int k = 0; k < m - 1; k++) {
    if (k == j) continue;
    p.bshape[p.rr] = v.shape[k]; p.bin[p.rr] = v.st[0][k]; p.bout[p.rr] = ostr[k];
    p.nbatch *= v.shape[k];
    p.rr++;
  }
  const dim3 grid(static_cast<unsigned>(p.tiles < kMaxGrid ? p.tiles : kMaxGrid),
                  static_cast<unsigned>(p.nbatch < 65535 ? p.nbatch : 65535));
  NL_LAUNCH((transpose_tiled_kernel<T>), grid, dim3(32, 8), 0, stream, out, in, p);
}

// out element = x at (coords - before) when inside x, else the constant.
struct PadArgs {
  int rank;
  int64_t oshape[kMaxDims], xshape[kMaxDims], before[kMaxDims];
};

template <class T>
__global__ void pad_kernel(T* out, const T* x, int64_t n, PadArgs p, T value) {
  NL_GRID_STRIDE(i, n) {
    int64_t r = i, off = 0, str = 1;
    bool inside = true;
    for (int d = p.rank - 1; d >= 0; d--) {
      const int64_t q = r / p.oshape[d], c = r - q * p.oshape[d] - p.before[d];
      r = q;
      inside = inside && c >= 0 && c < p.xshape[d];
      off += c * str;
      str *= p.xshape[d];
    }
    out[i] = inside ? x[off] : value;
  }
}

template <class T>
void pad_t(T* out, const T* x, const Shape& xs, const int64_t* before, const int64_t* after, T value,
           cudaStream_t stream) {
  PadArgs p;
  std::memset(&p, 0, sizeof p);
  int64_t n = 1, nx = 1;
  // merge a dim into the one outside it when it is not padded (its rows stay contiguous)
  int m = 0;
  for (int d = 0; d < xs.rank; d++) {
    const int64_t o = before[d] + xs.d[d] + after[d];
    n *= o; nx *= xs.d[d];
    if (o == 1) continue;
    if (m > 0 && before[d] == 0 && after[d] == 0) {
      p.oshape[m - 1] *= o; p.xshape[m - 1] *= o; p.before[m - 1] *= o;
    } else {
      p.oshape[m] = o; p.xshape[m] = xs.d[d]; p.before[m] = before[d];
      m++;
    }
  }
  p.rank = m;
  if (n == 0) return;
  if (nx == 0) {  // nothing to copy: every element is the constant
    NL_LAUNCH((fill_kernel<T>), grid_for(n), kThreads, 0, stream, out, n, value);
    return;
  }
  NL_LAUNCH((pad_kernel<T>), grid_for(n), kThreads, 0, stream, out, x, n, p, value);
}

// Up to kChunk pieces per launch, one per grid row (blockIdx.y), each a (outer, width) block of
// the big (outer, W) tensor at column col.
constexpr int kChunk = 32;
struct PieceArgs {
  void* ptr[kChunk];
  int64_t width[kChunk], col[kChunk];
  DivMod32 dm[kChunk];
  int64_t outer, W;
  int small;  // all indices of the big tensor fit the 32-bit path
};

template <class T, bool Split>
__global__ void pieces_kernel(T* big, PieceArgs p) {
  const int k = blockIdx.y;
  const int64_t w = p.width[k], n = p.outer * w, col = p.col[k];
  T* piece = static_cast<T*>(p.ptr[k]);
  NL_GRID_STRIDE(i, n) {
    int64_t r;
    if (p.small) r = divq(p.dm[k], static_cast<uint32_t>(i));
    else r = i / w;
    const int64_t bi = r * p.W + col + (i - r * w);
    if constexpr (Split) piece[i] = big[bi];
    else big[bi] = piece[i];
  }
}

template <class T, bool Split>
void pieces_t(T* big, void* const* ptrs, const int64_t* widths, int count, int64_t outer, cudaStream_t stream) {
  int64_t W = 0;
  for (int i = 0; i < count; i++) W += widths[i];
  if (outer <= 0 || W <= 0) return;
  PieceArgs p;
  std::memset(&p, 0, sizeof p);
  p.outer = outer; p.W = W;
  p.small = outer * W < kSmall;
  int64_t col = 0;
  int k = 0;
  int64_t most = 0;
  for (int i = 0; i <= count; i++) {
    if (k == kChunk || (i == count && k > 0)) {
      NL_LAUNCH((pieces_kernel<T, Split>), dim3(grid_for(most), static_cast<unsigned>(k)), kThreads, 0, stream, big, p);
      k = 0; most = 0;
    }
    if (i == count) break;
    if (widths[i] > 0) {
      p.ptr[k] = ptrs[i]; p.width[k] = widths[i]; p.col[k] = col;
      if (p.small) p.dm[k] = make_divmod(static_cast<uint32_t>(widths[i]));
      most = outer * widths[i] > most ? outer * widths[i] : most;
      k++;
    }
    col += widths[i];
  }
}

// ---------------------------------------------------------------------------------------------
// Gather, one-hot, range

// One row of `slice` elements per (threadIdx.y, block): rows r = (b, o, i) of the output.
template <class T>
__global__ void gather_kernel(T* out, const T* x, const int32_t* idx, int64_t rows, int64_t outer, int64_t n,
                              int64_t dim, int64_t slice) {
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; r < rows;
       r += static_cast<int64_t>(gridDim.x) * blockDim.y) {
    const int64_t bo = r / n, i = r - bo * n, b = bo / outer;
    const int64_t k = idx[b * n + i];
    T* dst = out + r * slice;
    if (k < 0 || k >= dim) {
      for (int64_t c = threadIdx.x; c < slice; c += blockDim.x) dst[c] = T(0);
    } else {
      const T* src = x + (bo * dim + k) * slice;
      for (int64_t c = threadIdx.x; c < slice; c += blockDim.x) dst[c] = src[c];
    }
  }
}

template <class T>
void gather_t(T* out, const T* x, const int32_t* idx, int64_t batch, int64_t outer, int64_t dim, int64_t slice,
              int64_t nIndices, cudaStream_t stream) {
  const int64_t n = nIndices / batch, rows = batch * outer * n;
  if (rows <= 0 || slice <= 0) return;
  const int bx = slice >= 256 ? 256 : slice >= 128 ? 128 : slice >= 64 ? 64 : 32;
  const int by = kThreads / bx;
  NL_LAUNCH((gather_kernel<T>), grid_for(rows, by), dim3(bx, by), 0, stream, out, x, idx, rows, outer, n, dim, slice);
}

__global__ void find_invalid_kernel(const int32_t* idx, int64_t n, int64_t limit, unsigned long long* first) {
  NL_GRID_STRIDE(i, n) {
    const int64_t k = idx[i];
    if (k < 0 || k >= limit) atomicMin(first, static_cast<unsigned long long>(i));
  }
}

template <class T>
__global__ void one_hot_kernel(const int32_t* idx, T* out, int64_t total, int64_t depth, T on, T off) {
  NL_GRID_STRIDE(i, total) {
    const int64_t e = i / depth, j = i - e * depth;
    out[i] = idx[e] == j ? on : off;
  }
}

// Exact closed forms of the range loop (see range()).
__global__ void range_i32_kernel(int32_t* out, int64_t n, uint32_t a0, int64_t step) {
  NL_GRID_STRIDE(i, n) {
    out[i] = static_cast<int32_t>(static_cast<uint32_t>(a0 + static_cast<uint64_t>(i) * static_cast<uint64_t>(step)));
  }
}
__global__ void range_f32_kernel(float* out, int64_t n, double a0, double step) {
  NL_GRID_STRIDE(i, n) out[i] = i == 0 ? static_cast<float>(a0) : static_cast<float>(a0 + static_cast<double>(i) * step);  // keeps -0
}
// The loop itself, one thread: each value is rounded to dt before the next step.
__global__ void range_seq_kernel(void* out, int64_t n, double start, double step, int dt) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  st(out, dt, 0, start);
  for (int64_t i = 1; i < n; i++) st(out, dt, i, ld(out, dt, i - 1) + step);
}

// ---------------------------------------------------------------------------------------------
// Reductions

constexpr long long kEmpty = 0x7fffffffffffffffLL;

// A partial reduction: sum in v, or the extreme non-NaN value v at index idx (kEmpty: none yet)
// and whether a NaN was seen.
struct Part {
  double v;
  long long idx;
  int nan;
  int pad_;
};

__device__ __forceinline__ Part empty_part() {
  Part p;
  p.v = 0.0; p.idx = kEmpty; p.nan = 0; p.pad_ = 0;
  return p;
}

// a holds earlier indices than b when they come from one thread; ties go to the lower index,
// so the result is the first extreme in index order whatever the tree.
template <bool Ext>
__device__ __forceinline__ Part combine(Part a, const Part& b, bool isMax) {
  if constexpr (!Ext) {
    a.v += b.v;
  } else {
    a.nan |= b.nan;
    if (b.idx != kEmpty &&
        (a.idx == kEmpty || (isMax ? b.v > a.v : b.v < a.v) || (b.v == a.v && b.idx < a.idx))) {
      a.v = b.v; a.idx = b.idx;
    }
  }
  return a;
}

template <bool Ext>
__device__ __forceinline__ Part warp_reduce(Part p, bool isMax) {
NL_UNROLL
  for (int o = 16; o > 0; o >>= 1) {
    Part q;
    q.v = __shfl_down_sync(0xffffffffu, p.v, o);
    q.idx = __shfl_down_sync(0xffffffffu, p.idx, o);
    q.nan = __shfl_down_sync(0xffffffffu, p.nan, o);
    q.pad_ = 0;
    p = combine<Ext>(p, q, isMax);
  }
  return p;
}

// Reduction over a group of G threads (a warp, or the whole block of 256); the result in thread 0
// of the group. The block version synchronises, so every thread of the block must call it.
template <bool Ext, int G>
__device__ __forceinline__ Part group_reduce(Part p, bool isMax, Part* sm) {
  p = warp_reduce<Ext>(p, isMax);
  if constexpr (G == 32) {
    return p;
  } else {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) sm[warp] = p;
    __syncthreads();
    if (warp == 0) {
      p = lane < G / 32 ? sm[lane] : empty_part();
      p = warp_reduce<Ext>(p, isMax);
    }
    __syncthreads();
    return p;
  }
}

template <class T>
__device__ __forceinline__ void reduce_store(void* out, int odt, int op, int64_t row, const Part& p, const T* xr) {
  double r;
  if (op == kSum || op == kMean) r = p.v;
  else if (op == kRMax || op == kRMin) r = p.nan ? static_cast<double>(f_nan()) : p.v;
  else r = xr[0] != xr[0] ? 0.0 : static_cast<double>(p.idx);  // tfjs: a NaN first element is never beaten
  st(out, odt, row, r);
}

// Each group of G threads reduces items (row, chunk); with one chunk per row it stores the result,
// else the partial goes to parts[item] for reduce_finish_kernel.
template <class T, bool Ext, int G>
__global__ void reduce_kernel(const T* x, void* out, Part* parts, int odt, int op, int64_t rows, int64_t inner,
                              int64_t splits, int64_t chunk, float divf) {
  __shared__ Part sm[kThreads / 32];
  NL_SHARED_GARBAGE(sm);
  constexpr int gpb = kThreads / G;
  const int g = threadIdx.x / G, t = threadIdx.x % G;
  const bool isMax = op == kRMax || op == kArgMax;
  const int64_t items = rows * splits;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * gpb + g; item < items;
       item += static_cast<int64_t>(gridDim.x) * gpb) {
    const int64_t row = item / splits, c = item - row * splits;
    const int64_t begin = c * chunk, end = begin + chunk < inner ? begin + chunk : inner;
    const T* xr = x + row * inner;
    Part p = empty_part();
    for (int64_t j = begin + t; j < end; j += G) {
      const T xv = xr[j];
      if constexpr (!Ext) {
        p.v += op == kMean ? static_cast<double>(static_cast<float>(xv) / divf) : static_cast<double>(xv);
      } else {
        const double v = static_cast<double>(xv);
        if (v != v) p.nan = 1;
        else if (p.idx == kEmpty || (isMax ? v > p.v : v < p.v)) { p.v = v; p.idx = j; }
      }
    }
    p = group_reduce<Ext, G>(p, isMax, sm);
    if (t == 0) {
      if (splits == 1) reduce_store(out, odt, op, row, p, xr);
      else parts[item] = p;
    }
  }
}

// One warp per row combines the row's `splits` partials in a fixed order.
template <class T, bool Ext>
__global__ void reduce_finish_kernel(const Part* parts, const T* x, void* out, int odt, int op, int64_t rows,
                                     int64_t inner, int64_t splits) {
  const int lane = threadIdx.x % 32;
  const bool isMax = op == kRMax || op == kArgMax;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * (kThreads / 32) + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * (kThreads / 32)) {
    Part p = empty_part();
    for (int64_t c = lane; c < splits; c += 32) p = combine<Ext>(p, parts[row * splits + c], isMax);
    p = warp_reduce<Ext>(p, isMax);
    if (lane == 0) reduce_store(out, odt, op, row, p, x + row * inner);
  }
}

// How a (outer, inner) reduction is cut: a warp per row for short rows, else a block per row,
// and rows long enough split into chunks across blocks when there are too few rows to fill the
// GPU. A function of the sizes only, so the summation order (and the bits) never change.
struct ReducePlan {
  int G;
  int64_t splits, chunk;
};

ReducePlan reduce_plan(int64_t outer, int64_t inner) {
  if (inner <= 1024) return {32, 1, inner};
  int64_t splits = 1;
  if (outer < 512 && inner >= 8192) {
    const int64_t want = (512 + outer - 1) / outer, most = inner / 4096;
    splits = want < most ? want : most;
  }
  const int64_t chunk = (inner + splits - 1) / splits;
  return {kThreads, (inner + chunk - 1) / chunk, chunk};
}

template <class T, bool Ext>
void reduce_t(int op, const T* x, void* out, Part* parts, int odt, int64_t outer, int64_t inner, cudaStream_t stream) {
  const ReducePlan pl = reduce_plan(outer, inner);
  const float divf = static_cast<float>(inner);
  const int64_t items = outer * pl.splits;
  if (pl.G == 32) {
    NL_LAUNCH((reduce_kernel<T, Ext, 32>), grid_for(items, kThreads / 32), kThreads, 0, stream, x, out, parts, odt, op,
              outer, inner, pl.splits, pl.chunk, divf);
  } else {
    NL_LAUNCH((reduce_kernel<T, Ext, kThreads>), grid_for(items, 1), kThreads, 0, stream, x, out, parts, odt, op, outer,
              inner, pl.splits, pl.chunk, divf);
  }
  if (pl.splits > 1) {
    NL_LAUNCH((reduce_finish_kernel<T, Ext>), grid_for(outer, kThreads / 32), kThreads, 0, stream, parts, x, out, odt,
              op, outer, inner, pl.splits);
  }
}

template <class T>
void reduce_dispatch(int op, const T* x, void* out, Part* parts, int odt, int64_t outer, int64_t inner,
                     cudaStream_t stream) {
  if (op == kSum || op == kMean) reduce_t<T, false>(op, x, out, parts, odt, outer, inner, stream);
  else reduce_t<T, true>(op, x, out, parts, odt, outer, inner, stream);
}

// ---------------------------------------------------------------------------------------------
// Softmax

// Max and sum over a group of G threads, the result in every thread of the group (xor butterfly:
// every lane computes the same tree up to commutativity, so the same bits).
template <int G>
__device__ __forceinline__ float group_max(float v, float* sm) {
NL_UNROLL
  for (int o = 16; o > 0; o >>= 1) { const float q = __shfl_xor_sync(0xffffffffu, v, o); v = q > v ? q : v; }
  if constexpr (G == 32) {
    return v;
  } else {
    if (threadIdx.x % 32 == 0) sm[threadIdx.x / 32] = v;
    __syncthreads();
    v = sm[0];
    for (int w = 1; w < G / 32; w++) v = sm[w] > v ? sm[w] : v;
    __syncthreads();
    return v;
  }
}
template <int G>
__device__ __forceinline__ double group_sum(double v, double* sm) {
NL_UNROLL
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if constexpr (G == 32) {
    return v;
  } else {
    if (threadIdx.x % 32 == 0) sm[threadIdx.x / 32] = v;
    __syncthreads();
    v = sm[0];
    for (int w = 1; w < G / 32; w++) v += sm[w];
    __syncthreads();
    return v;
  }
}

template <int G>
__global__ void softmax_kernel(float* out, const float* x, int64_t rows, int64_t cols) {
  __shared__ float smax[kThreads / 32];
  __shared__ double ssum[kThreads / 32];
  NL_SHARED_GARBAGE(smax);
  NL_SHARED_GARBAGE(ssum);
  constexpr int gpb = kThreads / G;
  const int g = threadIdx.x / G, t = threadIdx.x % G;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * gpb + g; row < rows; row += static_cast<int64_t>(gridDim.x) * gpb) {
    const float* xr = x + row * cols;
    float* orow = out + row * cols;
    float m = -f_inf();
    for (int64_t j = t; j < cols; j += G) { const float v = xr[j]; m = v > m ? v : m; }  // NaNs skipped
    m = group_max<G>(m, smax);
    double s = 0.0;
    for (int64_t j = t; j < cols; j += G) { const float e = expf(xr[j] - m); orow[j] = e; s += e; }
    const float sf = static_cast<float>(group_sum<G>(s, ssum));
    for (int64_t j = t; j < cols; j += G) orow[j] = orow[j] / sf;
  }
}

}  // namespace

// =============================================================================================
// Launchers

DType unary_out_dtype(int op, DType xdt) {
  if (op == kExp) return DType::F32;
  if (op == kLogicalNot) return DType::U8;
  return xdt;
}

DType reduce_out_dtype(int op, DType xdt) {
  switch (op) {
    case kSum: return xdt == DType::F32 ? DType::F32 : DType::I32;
    case kMean: return DType::F32;
    case kRMax: case kRMin: return xdt;
    default: return DType::I32;
  }
}

void unary(int op, DType xdt, DType odt, const void* x, void* out, int64_t n, float alpha, cudaStream_t stream) {
  if (n <= 0) return;
  if (xdt == DType::F32 && odt == DType::F32 && op != kLogicalNot) {
    NL_LAUNCH(unary_f32_kernel, grid_for(n), kThreads, 0, stream, op, static_cast<const float*>(x),
              static_cast<float*>(out), n, alpha);
  } else {
    NL_LAUNCH(unary_js_kernel, grid_for(n), kThreads, 0, stream, op, static_cast<int>(xdt), static_cast<int>(odt), x,
              out, n, alpha);
  }
}

void unary(int op, DType dt, const void* x, void* out, int64_t n, float alpha, cudaStream_t stream) {
  unary(op, dt, unary_out_dtype(op, dt), x, out, n, alpha, stream);
}

void binary(int op, DType adt, DType bdt, DType odt, const void* a, const void* b, void* out, const Shape& outShape,
            const int64_t* aStrides, const int64_t* bStrides, cudaStream_t stream) {
  check_rank(outShape.rank, "binary");
  View v;
  v.rank = outShape.rank;
  int64_t n = 1;
  for (int d = 0; d < outShape.rank; d++) {
    v.shape[d] = outShape.d[d]; v.st[0][d] = aStrides[d]; v.st[1][d] = bStrides[d];
    n *= outShape.d[d];
  }
  if (n <= 0) return;
  simplify(v);
  const BinArgs p = {op, static_cast<int>(adt), static_cast<int>(bdt), static_cast<int>(odt), a, b, out, n};
  const bool f32in = adt == DType::F32 && bdt == DType::F32;
  if (f32in && odt == DType::F32 && op <= kFloorDiv) launch_binary<kArith>(p, v, stream);
  else if (f32in && odt == DType::U8 && op >= kEqual && op <= kGreaterEqual) launch_binary<kCmp>(p, v, stream);
  else launch_binary<kJs>(p, v, stream);
}

void cast(DType from, DType to, const void* x, void* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  if (from == to && to != DType::U8) {  // bool -> bool still maps any nonzero byte to 1, as cast.cc
    NL_CUDA_CHECK(cudaMemcpyAsync(out, x, static_cast<size_t>(n) * dtype_size(to), cudaMemcpyDeviceToDevice, stream));
    return;
  }
  NL_LAUNCH(cast_kernel, grid_for(n), kThreads, 0, stream, static_cast<int>(from), static_cast<int>(to), x, out, n);
}

void select(const uint8_t* cond, DType dt, const void* t, const void* e, void* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  if (dt == DType::U8) {
    NL_LAUNCH((select_kernel<uint8_t>), grid_for(n), kThreads, 0, stream, cond, static_cast<const uint8_t*>(t),
              static_cast<const uint8_t*>(e), static_cast<uint8_t*>(out), n);
  } else {
    NL_LAUNCH((select_kernel<uint32_t>), grid_for(n), kThreads, 0, stream, cond, static_cast<const uint32_t*>(t),
              static_cast<const uint32_t*>(e), static_cast<uint32_t*>(out), n);
  }
}

void transpose(DType dt, const void* x, void* out, const Shape& shape, const int* perm, cudaStream_t stream) {
  check_rank(shape.rank, "transpose");
  if (dt == DType::U8) transpose_t(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(x), shape, perm, stream);
  else transpose_t(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(x), shape, perm, stream);
}

void tile(DType dt, const void* x, void* out, const Shape& shape, const int64_t* reps, cudaStream_t stream) {
  check_rank(shape.rank, "tile");
  // out dim d (size reps * s) is the pair (rep, c) with input strides (0, stride of d)
  View v;
  v.rank = 2 * shape.rank;
  int64_t str = 1;
  for (int d = shape.rank - 1; d >= 0; d--) {
    v.shape[2 * d] = reps[d]; v.st[0][2 * d] = 0; v.st[1][2 * d] = 0;
    v.shape[2 * d + 1] = shape.d[d]; v.st[0][2 * d + 1] = str; v.st[1][2 * d + 1] = 0;
    str *= shape.d[d];
  }
  if (view_size(v) <= 0) return;
  simplify(v);
  if (dt == DType::U8) launch_copy(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(x), v, stream);
  else launch_copy(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(x), v, stream);
}

void slice(DType dt, const void* x, void* out, const Shape& shape, const int64_t* begin, const int64_t* size,
           cudaStream_t stream) {
  check_rank(shape.rank, "slice");
  View v;
  v.rank = shape.rank;
  int64_t str = 1, base = 0;
  for (int d = shape.rank - 1; d >= 0; d--) {
    v.shape[d] = size[d]; v.st[0][d] = str; v.st[1][d] = 0;
    base += begin[d] * str;
    str *= shape.d[d];
  }
  if (view_size(v) <= 0) return;
  simplify(v);
  if (dt == DType::U8) launch_copy(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(x) + base, v, stream);
  else launch_copy(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(x) + base, v, stream);
}

void pad(DType dt, const void* x, void* out, const Shape& xShape, const int64_t* before, const int64_t* after,
         double value, cudaStream_t stream) {
  check_rank(xShape.rank, "pad");
  const uint32_t bits = js_bits(value, static_cast<int>(dt));
  if (dt == DType::U8) {
    pad_t(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(x), xShape, before, after,
          static_cast<uint8_t>(bits), stream);
  } else {
    pad_t(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(x), xShape, before, after, bits, stream);
  }
}

void concat(DType dt, const void* const* xs, const int64_t* widths, int count, void* out, int64_t outer,
            cudaStream_t stream) {
  void* const* ptrs = const_cast<void* const*>(xs);  // read only: Split is false
  if (dt == DType::U8) pieces_t<uint8_t, false>(static_cast<uint8_t*>(out), ptrs, widths, count, outer, stream);
  else pieces_t<uint32_t, false>(static_cast<uint32_t*>(out), ptrs, widths, count, outer, stream);
}

void split(DType dt, const void* x, void* const* outs, const int64_t* widths, int count, int64_t outer,
           cudaStream_t stream) {
  // the big tensor is only read when Split is true
  if (dt == DType::U8) {
    pieces_t<uint8_t, true>(static_cast<uint8_t*>(const_cast<void*>(x)), outs, widths, count, outer, stream);
  } else {
    pieces_t<uint32_t, true>(static_cast<uint32_t*>(const_cast<void*>(x)), outs, widths, count, outer, stream);
  }
}

void gather(DType dt, const void* x, const int32_t* indices, void* out, int64_t batch, int64_t outer, int64_t dim,
            int64_t slice, int64_t nIndices, cudaStream_t stream) {
  if (batch <= 0 || outer <= 0 || nIndices <= 0 || slice <= 0) return;
  if (dt == DType::U8) {
    gather_t(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(x), indices, batch, outer, dim, slice, nIndices,
             stream);
  } else {
    gather_t(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(x), indices, batch, outer, dim, slice, nIndices,
             stream);
  }
}

void index_find_invalid(const int32_t* indices, int64_t n, int64_t limit, unsigned long long* firstBad,
                        cudaStream_t stream) {
  NL_CUDA_CHECK(cudaMemsetAsync(firstBad, 0xff, sizeof(unsigned long long), stream));
  if (n <= 0) return;
  NL_LAUNCH(find_invalid_kernel, grid_for(n), kThreads, 0, stream, indices, n, limit, firstBad);
}

void oneHot(const int32_t* indices, void* out, int64_t n, int64_t depth, double on, double off, DType odt,
            cudaStream_t stream) {
  const int64_t total = n * depth;
  if (total <= 0) return;
  const int dt = static_cast<int>(odt);
  const uint32_t onb = js_bits(on, dt), offb = js_bits(off, dt);
  if (odt == DType::U8) {
    NL_LAUNCH((one_hot_kernel<uint8_t>), grid_for(total), kThreads, 0, stream, indices, static_cast<uint8_t*>(out),
              total, depth, static_cast<uint8_t>(onb), static_cast<uint8_t>(offb));
  } else {
    NL_LAUNCH((one_hot_kernel<uint32_t>), grid_for(total), kThreads, 0, stream, indices, static_cast<uint32_t*>(out),
              total, depth, onb, offb);
  }
}

void range(void* out, int64_t n, double start, double step, DType dt, cudaStream_t stream) {
  if (n <= 0) return;
  const bool intStep = step == std::trunc(step) && std::fabs(step) < 4503599627370496.0;  // 2^52
  if (dt == DType::I32 && intStep) {
    // int32 + integer step is exact in double, and wrapping commutes with adding: a0 + i step mod 2^32
    NL_LAUNCH(range_i32_kernel, grid_for(n), kThreads, 0, stream, static_cast<int32_t*>(out), n, js_u32(start),
              static_cast<int64_t>(step));
    return;
  }
  if (dt == DType::F32 && intStep) {
    // integers up to 2^24 are exact floats: no step rounds
    const double a0 = static_cast<float>(start), last = a0 + static_cast<double>(n - 1) * step;
    if (a0 == std::trunc(a0) && std::fabs(a0) <= 16777216.0 && std::fabs(last) <= 16777216.0) {
      NL_LAUNCH(range_f32_kernel, grid_for(n), kThreads, 0, stream, static_cast<float*>(out), n, a0, step);
      return;
    }
  }
  NL_LAUNCH(range_seq_kernel, 1, 1, 0, stream, out, n, start, step, static_cast<int>(dt));
}

void fill(void* out, int64_t n, double value, DType dt, cudaStream_t stream) {
  fill_bits(out, n, js_bits(value, static_cast<int>(dt)), static_cast<int>(dt), stream);
}

size_t reduce_workspace_bytes(int64_t outer, int64_t inner) {
  if (outer <= 0 || inner <= 0) return 0;
  const ReducePlan pl = reduce_plan(outer, inner);
  return pl.splits > 1 ? static_cast<size_t>(outer * pl.splits) * sizeof(Part) : 0;
}

void reduce(int op, DType xdt, DType odt, const void* x, void* out, float* workspace, int64_t outer, int64_t inner,
            cudaStream_t stream) {
  if (outer <= 0) return;
  const int o = static_cast<int>(odt);
  if (inner <= 0) {  // empty rows: sum 0, arg 0, max/min NaN (tfjs reads past the end)
    const bool nan = op == kRMax || op == kRMin;
    fill_bits(out, outer, nan ? js_bits(std::nan(""), o) : 0u, o, stream);
    return;
  }
  Part* parts = reinterpret_cast<Part*>(workspace);
  switch (xdt) {
    case DType::F32: reduce_dispatch(op, static_cast<const float*>(x), out, parts, o, outer, inner, stream); break;
    case DType::I32: reduce_dispatch(op, static_cast<const int32_t*>(x), out, parts, o, outer, inner, stream); break;
    default: reduce_dispatch(op, static_cast<const uint8_t*>(x), out, parts, o, outer, inner, stream); break;
  }
}

void reduce(int op, DType dt, const void* x, void* out, float* workspace, int64_t outer, int64_t inner,
            cudaStream_t stream) {
  reduce(op, dt, reduce_out_dtype(op, dt), x, out, workspace, outer, inner, stream);
}

void softmax_rows(float* out, const float* x, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  if (cols <= 1024) {
    NL_LAUNCH((softmax_kernel<32>), grid_for(rows, kThreads / 32), kThreads, 0, stream, out, x, rows, cols);
  } else {
    NL_LAUNCH((softmax_kernel<kThreads>), grid_for(rows, 1), kThreads, 0, stream, out, x, rows, cols);
  }
}

}  // namespace nlc
