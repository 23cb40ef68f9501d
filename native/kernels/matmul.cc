// BatchMatMul on the packed sgemm of native/src/gemm.h. Batch dims broadcast numpy-style: the TS
// side passes the output batch shape and each operand's batch strides (0 where broadcast);
// merged into one strided batch whenever possible, so typical calls are a single sgemm_batched.
#include "common.h"
#include "../src/gemm.h"

namespace nl {
namespace {

// matmul(a, b, out, transA, transB, M, N, K, nb); dims: batch shape[nb], a strides[nb], b strides[nb]
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  const float* a = f32(info, 0);
  const float* b = f32(info, 1);
  float* c = f32(info, 2);
  const bool ta = info[3].ToBoolean(), tb = info[4].ToBoolean();
  const int M = static_cast<int>(inum(info, 5)), N = static_cast<int>(inum(info, 6)), K = static_cast<int>(inum(info, 7));
  const int nb = static_cast<int>(inum(info, 8));
  if (static_cast<int64_t>(M) * N == 0) return info.Env().Undefined();
  int64_t shape[16], sa[16], sb[16];
  int m = 0;
  for (int d = 0; d < nb; d++) {
    const int64_t s = g_dims[d];
    if (s == 1) continue;
    const int64_t xa = g_dims[nb + d], xb = g_dims[2 * nb + d];
    if (m > 0 && sa[m - 1] == xa * s && sb[m - 1] == xb * s) { shape[m - 1] *= s; sa[m - 1] = xa; sb[m - 1] = xb; continue; }
    shape[m] = s; sa[m] = xa; sb[m] = xb; m++;
  }
  const int lda = ta ? M : K, ldb = tb ? K : N;
  const int64_t inner = m > 0 ? shape[m - 1] : 1;
  const int64_t ia = m > 0 ? sa[m - 1] : 0, ib = m > 0 ? sb[m - 1] : 0;
  const int64_t mn = static_cast<int64_t>(M) * N;
  Odometer od(m > 0 ? m - 1 : 0, shape);
  float* cp = c;
  for (;;) {
    int64_t oa = 0, ob = 0;
    for (int d = 0; d < m - 1; d++) { oa += od.idx[d] * sa[d]; ob += od.idx[d] * sb[d]; }
    nanolab::sgemm_batched(static_cast<int>(inner), ta, tb, M, N, K, 1.0f, a + oa, lda, ia, b + ob, ldb, ib, 0.0f, cp, N, mn);
    cp += inner * mn;
    if (m <= 1 || od.next() < 0) break;
  }
  return info.Env().Undefined();
}

}  // namespace

void init_matmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, MatMul));
}

}  // namespace nl
