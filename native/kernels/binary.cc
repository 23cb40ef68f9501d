// Element-wise binary kernels with broadcasting (Add, Sub, Multiply, RealDiv, Maximum, Minimum,
// Pow, SquaredDifference, FloorDiv, comparisons, LogicalAnd/Or). The TS side passes the output
// shape and each input's strides (0 on broadcast dims); here adjacent dims are merged so the
// inner loop runs over the longest contiguous row. Float32 rows are vectorised; other typed
// arrays go element by element in double, which is what tfjs' JS loops compute.
// Op codes: native/binding.ts BinaryOp.
#include "common.h"
#include "vmath.h"

namespace nl {
namespace {

enum BinaryOp { ADD, SUB, MUL, DIV, MAX, MIN, POW, SQDIFF, FLOORDIV, EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER,
                GREATER_EQUAL, LOGICAL_AND, LOGICAL_OR };

// Math.max / Math.min on floats: NaN wins, and max(-0, 0) = 0, min(-0, 0) = -0 (bitwise and/or).
inline float js_max(float x, float y) {
  float r = x > y ? x : y;
  r = x == y ? bits_to_f(f_to_bits(x) & f_to_bits(y)) : r;
  return (x != x || y != y) ? x + y : r;
}
inline float js_min(float x, float y) {
  float r = x < y ? x : y;
  r = x == y ? bits_to_f(f_to_bits(x) | f_to_bits(y)) : r;
  return (x != x || y != y) ? x + y : r;
}

// One row: the three stride patterns a merged row can have (both contiguous, or one broadcast).
#define NL_ROW(EXPR)                                                           \
  if (sa == 1 && sb == 1) {                                                    \
    for (size_t i = 0; i < n; i++) { const float x = a[i], y = b[i]; o[i] = EXPR; } \
  } else if (sb == 0 && sa == 1) {                                             \
    const float y = b[0];                                                      \
    for (size_t i = 0; i < n; i++) { const float x = a[i]; o[i] = EXPR; }       \
  } else if (sa == 0 && sb == 1) {                                             \
    const float x = a[0];                                                      \
    for (size_t i = 0; i < n; i++) { const float y = b[i]; o[i] = EXPR; }       \
  } else {                                                                     \
    for (size_t i = 0; i < n; i++) { const float x = a[i * sa], y = b[i * sb]; o[i] = EXPR; } \
  }

NL_CLONES void row_f32(int op, float* o, const float* a, ptrdiff_t sa, const float* b, ptrdiff_t sb, size_t n) {
  switch (op) {
    case ADD: NL_ROW(x + y) break;
    case SUB: NL_ROW(x - y) break;
    case MUL: NL_ROW(x * y) break;
    case DIV: NL_ROW(x / y) break;
    case MAX: NL_ROW(js_max(x, y)) break;
    case MIN: NL_ROW(js_min(x, y)) break;
    case SQDIFF: NL_ROW((x - y) * (x - y)) break;
    case POW: NL_ROW(static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(y)))) break;
    case FLOORDIV: NL_ROW(static_cast<float>(std::floor(static_cast<double>(x) / static_cast<double>(y)))) break;
    default: break;
  }
}

template <class O>
void row_cmp(int op, O* o, const float* a, ptrdiff_t sa, const float* b, ptrdiff_t sb, size_t n) {
  switch (op) {
    case EQUAL: NL_ROW(x == y) break;
    case NOT_EQUAL: NL_ROW(x != y) break;
    case LESS: NL_ROW(x < y) break;
    case LESS_EQUAL: NL_ROW(x <= y) break;
    case GREATER: NL_ROW(x > y) break;
    case GREATER_EQUAL: NL_ROW(x >= y) break;
    default: break;
  }
}
#undef NL_ROW

NL_CLONES void row_cmp_u8(int op, uint8_t* o, const float* a, ptrdiff_t sa, const float* b, ptrdiff_t sb, size_t n) {
  row_cmp(op, o, a, sa, b, sb, n);
}

double binary_js(int op, double x, double y) {
  switch (op) {
    case ADD: return x + y;
    case SUB: return x - y;
    case MUL: return x * y;
    case DIV: return x / y;
    case MAX: return (x != x || y != y) ? x + y : (x > y ? x : (y > x ? y : (std::signbit(x) ? y : x)));
    case MIN: return (x != x || y != y) ? x + y : (x < y ? x : (y < x ? y : (std::signbit(x) ? x : y)));
    case POW: return std::pow(x, y);
    case SQDIFF: return (x - y) * (x - y);
    case FLOORDIV: return std::floor(x / y);
    case EQUAL: return x == y;
    case NOT_EQUAL: return x != y;
    case LESS: return x < y;
    case LESS_EQUAL: return x <= y;
    case GREATER: return x > y;
    case GREATER_EQUAL: return x >= y;
    case LOGICAL_AND: return (x != 0 && x == x) && (y != 0 && y == y);
    case LOGICAL_OR: return (x != 0 && x == x) || (y != 0 && y == y);
    default: return 0;
  }
}

// binary(op, a, b, out, rank); dims: out shape[rank], a strides[rank], b strides[rank]
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(inum(info, 0));
  const Arr a = arr(info, 1), b = arr(info, 2), o = arr(info, 3);
  const int rank = static_cast<int>(inum(info, 4));
  if (o.len == 0) return info.Env().Undefined();
  // Merge dims (innermost first): drop size-1 dims, fuse a dim into the one inside it when both
  // inputs stay contiguous (or broadcast) across the pair.
  int64_t shape[16], sa[16], sb[16];
  int r = 0;
  for (int d = 0; d < rank; d++) {
    const int64_t s = g_dims[d];
    if (s == 1) continue;
    shape[r] = s; sa[r] = g_dims[rank + d]; sb[r] = g_dims[2 * rank + d];
    r++;
  }
  int m = 0;
  for (int d = 0; d < r; d++) {
    if (m > 0 && sa[m - 1] == sa[d] * shape[d] && sb[m - 1] == sb[d] * shape[d]) {
      shape[m - 1] *= shape[d]; sa[m - 1] = sa[d]; sb[m - 1] = sb[d];
    } else {
      shape[m] = shape[d]; sa[m] = sa[d]; sb[m] = sb[d]; m++;
    }
  }
  if (m == 0) { shape[0] = 1; sa[0] = 0; sb[0] = 0; m = 1; }
  const size_t n = static_cast<size_t>(shape[m - 1]);
  const ptrdiff_t ia = sa[m - 1], ib = sb[m - 1];
  const bool fast_arith = a.et == ET::F32 && b.et == ET::F32 && o.et == ET::F32 && op <= FLOORDIV;
  const bool fast_cmp = a.et == ET::F32 && b.et == ET::F32 && o.et == ET::U8 && op >= EQUAL && op <= GREATER_EQUAL;
  Odometer od(m - 1, shape);
  int64_t offa = 0, offb = 0;
  for (size_t row = 0, rows = o.len / n; row < rows; row++) {
    const size_t off = row * n;
    if (fast_arith) {
      row_f32(op, o.f() + off, a.f() + offa, ia, b.f() + offb, ib, n);
    } else if (fast_cmp) {
      row_cmp_u8(op, o.u() + off, a.f() + offa, ia, b.f() + offb, ib, n);
    } else {
      for (size_t i = 0; i < n; i++) store(o, off + i, binary_js(op, load(a, offa + i * ia), load(b, offb + i * ib)));
    }
    // step the outer index; recompute offsets from the odometer (ranks are tiny)
    if (od.next() < 0) break;
    offa = 0; offb = 0;
    for (int d = 0; d < m - 1; d++) { offa += od.idx[d] * sa[d]; offb += od.idx[d] * sb[d]; }
  }
  return info.Env().Undefined();
}

}  // namespace

void init_binary(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary));
}

}  // namespace nl
