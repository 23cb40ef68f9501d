// Slice and PadV2 (the gradient of Slice): strided row copies. Inner dims taken whole are
// merged into one longer row first.
#include "common.h"

namespace nl {
namespace {

// Copies box `size` at `begin` of a tensor of shape `s` (src) into a dense box (dst), or the
// reverse when scatter is set (dense box into the big tensor, for Pad).
template <class T>
void box_copy(T* big, T* box, int rank, const int64_t* s, const int64_t* begin, const int64_t* size, bool scatter) {
  int64_t str[16];
  if (rank == 0) { if (scatter) big[0] = box[0]; else box[0] = big[0]; return; }
  str[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) str[d] = str[d + 1] * s[d + 1];
  // merge trailing dims taken whole into the row
  int inner = rank - 1;
  int64_t L = size[rank - 1];
  while (inner > 0 && size[inner] == s[inner] && begin[inner] == 0) { inner--; L *= size[inner]; }
  // now dims [0, inner) are iterated, dim inner and beyond form rows of L elements
  int64_t base = 0;
  for (int d = 0; d < rank; d++) base += begin[d] * str[d];
  Odometer od(inner, size);
  T* b = box;
  for (;;) {
    int64_t off = base;
    for (int d = 0; d < inner; d++) off += od.idx[d] * str[d];
    if (scatter) std::memcpy(big + off, b, L * sizeof(T));
    else std::memcpy(b, big + off, L * sizeof(T));
    b += L;
    if (od.next() < 0) break;
  }
}

template <class T>
void dispatch(const Arr& big, const Arr& box, int rank, const int64_t* s, const int64_t* begin, const int64_t* size,
              bool scatter) {
  box_copy(static_cast<T*>(big.data), static_cast<T*>(box.data), rank, s, begin, size, scatter);
}

// slice(x, out, rank); dims: shape[rank], begin[rank], size[rank]
Napi::Value Slice(const Napi::CallbackInfo& info) {
  const Arr x = arr(info, 0), o = arr(info, 1);
  const int rank = static_cast<int>(inum(info, 2));
  if (o.len == 0) return info.Env().Undefined();
  int64_t s[16], b[16], z[16];
  for (int d = 0; d < rank; d++) { s[d] = g_dims[d]; b[d] = g_dims[rank + d]; z[d] = g_dims[2 * rank + d]; }
  if (elem_size(x.et) == 1) dispatch<uint8_t>(x, o, rank, s, b, z, false);
  else dispatch<uint32_t>(x, o, rank, s, b, z, false);
  return info.Env().Undefined();
}

// pad(x, out, rank, value); dims: out shape[rank], before[rank], x shape[rank]
Napi::Value Pad(const Napi::CallbackInfo& info) {
  const Arr x = arr(info, 0), o = arr(info, 1);
  const int rank = static_cast<int>(inum(info, 2));
  const double value = num(info, 3);
  if (o.len == 0) return info.Env().Undefined();
  if (value != 0 || std::signbit(value) || value != value) {
    if (o.et == ET::F32) { const float v = static_cast<float>(value); for (size_t i = 0; i < o.len; i++) o.f()[i] = v; }
    else for (size_t i = 0; i < o.len; i++) store(o, i, value);
  }  // else: a fresh typed array is already zero
  if (x.len == 0) return info.Env().Undefined();
  int64_t s[16], b[16], z[16];
  for (int d = 0; d < rank; d++) { s[d] = g_dims[d]; b[d] = g_dims[rank + d]; z[d] = g_dims[2 * rank + d]; }
  if (elem_size(x.et) == 1) dispatch<uint8_t>(o, x, rank, s, b, z, true);
  else dispatch<uint32_t>(o, x, rank, s, b, z, true);
  return info.Env().Undefined();
}

}  // namespace

void init_slice(Napi::Env env, Napi::Object exports) {
  exports.Set("slice", Napi::Function::New(env, Slice));
  exports.Set("pad", Napi::Function::New(env, Pad));
}

}  // namespace nl
