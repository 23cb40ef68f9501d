// Transpose: dims of size 1 are dropped and input dims that stay neighbours in the output are
// merged, so most transposes become either row copies (the last dim stays last, e.g. the
// (B,T,H,D) <-> (B,H,T,D) head split) or tiled 2-d transposes over the remaining outer dims.
#include "common.h"

namespace nl {
namespace {

template <class T>
void transpose_t(T* out, const T* in, int rank, const int64_t* shape_in, const int32_t* perm_in) {
  // drop size-1 dims
  int64_t s[16];
  int map[16], r = 0;
  for (int d = 0; d < rank; d++) map[d] = shape_in[d] == 1 ? -1 : r++;
  for (int d = 0; d < rank; d++) if (map[d] >= 0) s[map[d]] = shape_in[d];
  int p[16], pr = 0;
  for (int k = 0; k < rank; k++) if (map[perm_in[k]] >= 0) p[pr++] = map[perm_in[k]];
  // merge runs of input dims that stay consecutive in the output; groups are in output order
  int gstart[16], glen[16], m = 0;
  for (int k = 0; k < r; k++) {
    if (k > 0 && p[k] == p[k - 1] + 1) { glen[m - 1]++; continue; }
    gstart[m] = p[k]; glen[m] = 1; m++;
  }
  int64_t ms[16];  // merged input shape (input order)
  int mp[16];      // output dim g reads merged input dim mp[g]
  for (int g = 0; g < m; g++) {
    int rank_in = 0;
    for (int h = 0; h < m; h++) rank_in += gstart[h] < gstart[g];
    mp[g] = rank_in;
    int64_t size = 1;
    for (int i = gstart[g]; i < gstart[g] + glen[g]; i++) size *= s[i];
    ms[rank_in] = size;
  }
  size_t total = 1;
  for (int i = 0; i < m; i++) total *= static_cast<size_t>(ms[i]);
  if (m <= 1) { std::memcpy(out, in, total * sizeof(T)); return; }
  int64_t istr[16], os[16], ostr[16];
  istr[m - 1] = 1;
  for (int i = m - 2; i >= 0; i--) istr[i] = istr[i + 1] * ms[i + 1];
  for (int k = 0; k < m; k++) os[k] = ms[mp[k]];
  ostr[m - 1] = 1;
  for (int k = m - 2; k >= 0; k--) ostr[k] = ostr[k + 1] * os[k + 1];
  if (mp[m - 1] == m - 1) {
    // the innermost input dim stays innermost: copy rows
    const int64_t L = os[m - 1];
    Odometer od(m - 1, os);
    size_t o = 0;
    for (;;) {
      int64_t off = 0;
      for (int k = 0; k < m - 1; k++) off += od.idx[k] * istr[mp[k]];
      std::memcpy(out + o, in + off, L * sizeof(T));
      o += L;
      if (od.next() < 0) break;
    }
    return;
  }
  // 2-d tiles between output dim j (reads the contiguous input dim) and the last output dim
  int j = 0;
  for (int k = 0; k < m; k++) if (mp[k] == m - 1) j = k;
  const int64_t A = os[j], Bn = os[m - 1];
  const int64_t oa = ostr[j], ib = istr[mp[m - 1]];
  int64_t rs[16], rmap[16];
  int rr = 0;
  for (int k = 0; k < m - 1; k++) if (k != j) { rs[rr] = os[k]; rmap[rr] = k; rr++; }
  Odometer od(rr, rs);
  const int64_t TB = 16;
  for (;;) {
    int64_t ibase = 0, obase = 0;
    for (int q = 0; q < rr; q++) { ibase += od.idx[q] * istr[mp[rmap[q]]]; obase += od.idx[q] * ostr[rmap[q]]; }
    const T* src = in + ibase;
    T* dst = out + obase;
    for (int64_t a0 = 0; a0 < A; a0 += TB) {
      const int64_t a1 = a0 + TB < A ? a0 + TB : A;
      for (int64_t b0 = 0; b0 < Bn; b0 += TB) {
        const int64_t b1 = b0 + TB < Bn ? b0 + TB : Bn;
        for (int64_t a = a0; a < a1; a++)
          for (int64_t b = b0; b < b1; b++) dst[a * oa + b] = src[a + b * ib];
      }
    }
    if (rr == 0 || od.next() < 0) break;
  }
}

// transpose(x, out, rank); dims: shape[rank], perm[rank]
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  const Arr x = arr(info, 0), o = arr(info, 1);
  const int rank = static_cast<int>(inum(info, 2));
  if (o.len == 0) return info.Env().Undefined();
  int64_t shape[16];
  int32_t perm[16];
  for (int d = 0; d < rank; d++) { shape[d] = g_dims[d]; perm[d] = g_dims[rank + d]; }
  if (elem_size(x.et) == 1) transpose_t(o.u(), x.u(), rank, shape, perm);
  else transpose_t(static_cast<uint32_t*>(o.data), static_cast<const uint32_t*>(x.data), rank, shape, perm);
  return info.Env().Undefined();
}

}  // namespace

void init_transpose(Napi::Env env, Napi::Object exports) {
  exports.Set("transpose", Napi::Function::New(env, Transpose));
}

}  // namespace nl
