// Tile: the input's last dim is copied as whole rows, reps[last] times per output row.
#include "common.h"

namespace nl {
namespace {

template <class T>
void tile_t(T* out, const T* in, int rank, const int64_t* s, const int64_t* reps) {
  if (rank == 0) { out[0] = in[0]; return; }
  int64_t os[16], istr[16];
  istr[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) istr[d] = istr[d + 1] * s[d + 1];
  for (int d = 0; d < rank; d++) os[d] = s[d] * reps[d];
  const int64_t L = s[rank - 1];
  Odometer od(rank - 1, os);
  T* o = out;
  for (;;) {
    int64_t off = 0;
    for (int d = 0; d < rank - 1; d++) off += (od.idx[d] % s[d]) * istr[d];
    for (int64_t r = 0; r < reps[rank - 1]; r++, o += L) std::memcpy(o, in + off, L * sizeof(T));
    if (od.next() < 0) break;
  }
}

// tile(x, out, rank); dims: shape[rank], reps[rank]
Napi::Value Tile(const Napi::CallbackInfo& info) {
  const Arr x = arr(info, 0), o = arr(info, 1);
  const int rank = static_cast<int>(inum(info, 2));
  if (o.len == 0) return info.Env().Undefined();
  int64_t s[16], reps[16];
  for (int d = 0; d < rank; d++) { s[d] = g_dims[d]; reps[d] = g_dims[rank + d]; }
  if (elem_size(x.et) == 1) tile_t(o.u(), x.u(), rank, s, reps);
  else tile_t(static_cast<uint32_t*>(o.data), static_cast<const uint32_t*>(x.data), rank, s, reps);
  return info.Env().Undefined();
}

}  // namespace

void init_tile(Napi::Env env, Napi::Object exports) {
  exports.Set("tile", Napi::Function::New(env, Tile));
}

}  // namespace nl
