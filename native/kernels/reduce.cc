// Reductions Sum, Mean, Max, Min, ArgMax, ArgMin over any set of axes. Dims of size 1 are dropped
// and neighbouring dims with the same role merged, so the common cases become row reductions
// (kept dims outside) or column reductions (kept dims inside, e.g. bias gradients), done without
// tfjs' transpose. Sums accumulate in double like tfjs' JS loop: column sums in the same order
// (bit-identical), row sums with 8 fixed partial sums (deterministic, independent of the ISA).
#include <limits>

#include "common.h"

namespace nl {
namespace {

enum ReduceOp { SUM, MEAN, MAX, MIN, ARGMAX, ARGMIN };

inline bool better(int op, double v, double best) {
  // tfjs: max/min let NaN in and keep it; argmax/argmin only move on strict improvement
  switch (op) {
    case MAX: return v != v || v > best;
    case MIN: return v != v || v < best;
    case ARGMAX: return v > best;
    case ARGMIN: return v < best;
    default: return false;
  }
}

NL_CLONES double row_sum(const float* x, size_t n, float div) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  if (div == 1.0f) {
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; j++) acc[j] += x[i + j];
    for (; i < n; i++) acc[0] += x[i];
  } else {  // Mean: tfjs sums x / n, each quotient rounded to float
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; j++) acc[j] += x[i + j] / div;
    for (; i < n; i++) acc[0] += x[i] / div;
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Row max / min in 16 lanes, NaN-propagating as tfjs' (any NaN in the row gives NaN).
NL_CLONES float row_maxmin(const float* x, size_t n, bool is_max) {
  float m[16];
  bool nan = false;
  for (int j = 0; j < 16; j++) m[j] = x[0];
  size_t i = 0;
  if (is_max) {
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++) { const float v = x[i + j]; nan |= v != v; m[j] = v > m[j] ? v : m[j]; }
  } else {
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++) { const float v = x[i + j]; nan |= v != v; m[j] = v < m[j] ? v : m[j]; }
  }
  float r = m[0];
  for (int j = 1; j < 16; j++) r = is_max ? (m[j] > r ? m[j] : r) : (m[j] < r ? m[j] : r);
  for (; i < n; i++) { const float v = x[i]; nan |= v != v; r = is_max ? (v > r ? v : r) : (v < r ? v : r); }
  return nan ? std::numeric_limits<float>::quiet_NaN() : r;
}

NL_CLONES void col_sum(double* acc, const float* x, size_t n, float div) {
  if (div == 1.0f) for (size_t i = 0; i < n; i++) acc[i] += x[i];
  else for (size_t i = 0; i < n; i++) acc[i] += x[i] / div;
}

NL_CLONES void col_maxmin(float* best, const float* x, size_t n, bool is_max) {
  if (is_max) for (size_t i = 0; i < n; i++) { const float v = x[i], b = best[i]; best[i] = (v != v || v > b) ? v : b; }
  else for (size_t i = 0; i < n; i++) { const float v = x[i], b = best[i]; best[i] = (v != v || v < b) ? v : b; }
}

// reduce(op, x, out, rank); dims: shape[rank], reduced flag[rank]
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(inum(info, 0));
  const Arr x = arr(info, 1), o = arr(info, 2);
  const int rank = static_cast<int>(inum(info, 3));
  if (o.len == 0) return info.Env().Undefined();
  int64_t s[16];
  bool red[16];
  int m = 0;
  int64_t rsize = 1;
  for (int d = 0; d < rank; d++) {
    const int64_t n = g_dims[d];
    const bool r = g_dims[rank + d] != 0;
    if (r) rsize *= n;
    if (n == 1) continue;
    if (m > 0 && red[m - 1] == r) { s[m - 1] *= n; continue; }
    s[m] = n; red[m] = r; m++;
  }
  const bool is_sum = op == SUM || op == MEAN;
  const float div = op == MEAN ? static_cast<float>(rsize) : 1.0f;
  const bool arg = op == ARGMAX || op == ARGMIN;
  if (rsize == 0) {  // empty reduction: sum 0; tfjs max/min read past the end (undefined -> NaN/0)
    for (size_t i = 0; i < o.len; i++) store(o, i, is_sum ? 0.0 : (arg ? 0.0 : NAN));
    return info.Env().Undefined();
  }
  // pattern as (outer kept K1, reduced R, inner kept K2); anything else goes the generic way
  int64_t K1 = 1, R = 1, K2 = 1;
  bool simple = true;
  {
    int d = 0;
    if (d < m && !red[d]) K1 = s[d++];
    if (d < m && red[d]) R = s[d++];
    if (d < m && !red[d]) K2 = s[d++];
    if (d != m) simple = false;
  }
  if (simple && x.et == ET::F32) {
    const float* xf = x.f();
    if (K2 == 1) {  // row reductions
      for (int64_t k = 0; k < K1; k++) {
        const float* row = xf + k * R;
        double res;
        if (is_sum) {
          res = row_sum(row, static_cast<size_t>(R), div);
        } else if (!arg) {
          res = row_maxmin(row, static_cast<size_t>(R), op == MAX);
        } else {
          double best = row[0];
          int64_t bi = 0;
          for (int64_t j = 0; j < R; j++) if (better(op, row[j], best)) { best = row[j]; bi = j; }
          res = arg ? static_cast<double>(bi) : best;
        }
        store(o, k, res);
      }
    } else {  // column reductions over R rows of K2
      std::vector<double> acc;
      std::vector<float> best;
      std::vector<int32_t> bidx;
      for (int64_t k = 0; k < K1; k++) {
        const float* blk = xf + k * R * K2;
        if (is_sum) {
          acc.assign(static_cast<size_t>(K2), 0.0);
          for (int64_t r = 0; r < R; r++) col_sum(acc.data(), blk + r * K2, static_cast<size_t>(K2), div);
          for (int64_t j = 0; j < K2; j++) store(o, k * K2 + j, acc[j]);
        } else if (!arg) {
          best.assign(blk, blk + K2);
          for (int64_t r = 0; r < R; r++) col_maxmin(best.data(), blk + r * K2, static_cast<size_t>(K2), op == MAX);
          for (int64_t j = 0; j < K2; j++) store(o, k * K2 + j, best[j]);
        } else {
          best.assign(blk, blk + K2);
          bidx.assign(static_cast<size_t>(K2), 0);
          for (int64_t r = 0; r < R; r++)
            for (int64_t j = 0; j < K2; j++)
              if (better(op, blk[r * K2 + j], best[j])) { best[j] = blk[r * K2 + j]; bidx[j] = static_cast<int32_t>(r); }
          for (int64_t j = 0; j < K2; j++) store(o, k * K2 + j, bidx[j]);
        }
      }
    }
    return info.Env().Undefined();
  }
  // generic: kept dims in order outside, reduced dims in order inside (tfjs' transpose order)
  int64_t str[16], ks[16], rs[16], kstr[16], rstr[16];
  int nk = 0, nr = 0;
  if (m > 0) str[m - 1] = 1;
  for (int d = m - 2; d >= 0; d--) str[d] = str[d + 1] * s[d + 1];
  for (int d = 0; d < m; d++) {
    if (red[d]) { rs[nr] = s[d]; rstr[nr++] = str[d]; } else { ks[nk] = s[d]; kstr[nk++] = str[d]; }
  }
  Odometer ko(nk, ks);
  for (size_t oi = 0; oi < o.len; oi++) {
    int64_t base = 0;
    for (int q = 0; q < nk; q++) base += ko.idx[q] * kstr[q];
    Odometer ro(nr, rs);
    double acc = 0, best = load(x, base);
    int64_t bi = 0, j = 0;
    for (;; j++) {
      int64_t off = base;
      for (int q = 0; q < nr; q++) off += ro.idx[q] * rstr[q];
      const double v = load(x, off);
      if (is_sum) acc += op == MEAN ? static_cast<double>(static_cast<float>(v) / div) : v;
      else if (better(op, v, best)) { best = v; bi = j; }
      if (nr == 0 || ro.next() < 0) break;
    }
    store(o, oi, is_sum ? acc : (arg ? static_cast<double>(bi) : best));
    if (nk > 0) ko.next();
  }
  return info.Env().Undefined();
}

}  // namespace

void init_reduce(Napi::Env env, Napi::Object exports) {
  exports.Set("reduce", Napi::Function::New(env, Reduce));
}

}  // namespace nl
