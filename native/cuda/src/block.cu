// The fused transformer block of block.h: a fixed sequence of the backend's kernels and GEMMs
// (llm.c style), the same operations in the same order as native/kernels/block.cc. Scratch
// buffers come from the caching allocator (memory.h), so a step makes no cudaMalloc.
#include "block.h"

#include <algorithm>

#include "attention.h"
#include "memory.h"
#include "rowwise.h"

namespace nlc {
namespace {

AttentionDims block_attention_dims(const BlockDims& d) {
  AttentionDims a;
  a.B = static_cast<int>(d.B); a.H = static_cast<int>(d.H); a.T = static_cast<int>(d.T);
  a.D = static_cast<int>(d.C / d.H);
  a.scale = 1.0f / std::sqrt(static_cast<float>(a.D));
  a.drop = d.attnDrop;
  a.key = d.attn;
  a.qkv = heads_in_rows(d.T, a.D, 3 * d.C);
  a.out = heads_in_rows(d.T, a.D, d.C);
  a.bf16 = d.precision == Precision::BF16;
  return a;
}

// row-major C (M, N) = A (M, K) B (K, N), with op() transposes
void mm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool ta, bool tb, const BlockDims& d,
        cudaStream_t s) {
  matmul(C, A, B, M, N, K, ta, tb, 1, 0, 0, 0, d.precision, nullptr, s);
}

// out = x through the dropout (a copy when it is off)
void dropout_or_copy(float* out, const float* x, int64_t n, const DropoutKey& key, bool drop, cudaStream_t s) {
  if (drop) dropout_forward(out, x, n, key, s);
  else NL_CUDA_CHECK(cudaMemcpyAsync(out, x, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, s));
}

}  // namespace

void block_forward(float* y, float* qkv, float* atty, float* y1, float* h, float* lse, const float* x, const float* ln1g,
                   const float* ln1b, const float* wqkv, const float* wproj, const float* bproj, const float* ln2g,
                   const float* ln2b, const float* wfc, const float* bfc, const float* wfp, const float* bfp,
                   const BlockDims& d, cudaStream_t s) {
  const int64_t N = d.B * d.T, C = d.C, F = d.F, NC = N * C;
  if (NC == 0) return;
  DeviceBuffer xlnBuf(NC * sizeof(float)), pBuf(NC * sizeof(float)), actBuf(d.gelu ? N * F * sizeof(float) : 0);
  float* xln = xlnBuf.f();  // (N, C)
  float* p = pBuf.f();      // (N, C) a branch's projection
  float* act = d.gelu ? actBuf.f() : h;  // (N, F)

  layernorm_forward(xln, nullptr, nullptr, x, ln1g, ln1b, N, C, d.eps, s);
  mm(qkv, xln, wqkv, N, 3 * C, C, false, false, d, s);                       // (N, 3C)
  attention_forward(atty, lse, qkv, qkv + C, qkv + 2 * C, block_attention_dims(d), s);
  matmul_bias(p, atty, wproj, bproj, false, N, C, C, false, false, 1, 0, 0, 0, d.precision, nullptr, s);  // (N, C)
  residual_dropout_add(y1, x, p, NC, d.proj, d.projDrop, s);                   // y1 = x + Dropout(p)

  layernorm_forward(xln, nullptr, nullptr, y1, ln2g, ln2b, N, C, d.eps, s);
  matmul_bias(h, xln, wfc, bfc, !d.gelu, N, F, C, false, false, 1, 0, 0, 0, d.precision, nullptr, s);  // (N, F)
  if (d.gelu) gelu_forward(act, h, N * F, s);
  matmul_bias(p, act, wfp, bfp, false, N, C, F, false, false, 1, 0, 0, 0, d.precision, nullptr, s);  // (N, C)
  residual_dropout_add(y, y1, p, NC, d.ff, d.ffDrop, s);
}

void block_backward(float* dx, float* dln1g, float* dln1b, float* dwqkv, float* dwproj, float* dbproj, float* dln2g,
                    float* dln2b, float* dwfc, float* dbfc, float* dwfp, float* dbfp, const float* dy, const float* qkv,
                    const float* atty, const float* y1, const float* h, const float* lse, const float* x,
                    const float* ln1g, const float* ln1b, const float* wqkv, const float* wproj, const float* ln2g,
                    const float* ln2b, const float* wfc, const float* wfp, const BlockDims& d, cudaStream_t s) {
  const int64_t N = d.B * d.T, C = d.C, F = d.F, NC = N * C, NF = N * F;
  if (NC == 0) {  // no rows: the parameter gradients are zero
    const int64_t sizes[11] = {C, C, C * 3 * C, C * C, C, C, C, C * F, F, F * C, C};
    float* g[11] = {dln1g, dln1b, dwqkv, dwproj, dbproj, dln2g, dln2b, dwfc, dbfc, dwfp, dbfp};
    for (int i = 0; i < 11; i++) NL_CUDA_CHECK(cudaMemsetAsync(g[i], 0, static_cast<size_t>(sizes[i]) * sizeof(float), s));
    return;
  }
  const AttentionDims ad = block_attention_dims(d);
  const size_t ws = std::max({column_sums_workspace_bytes(N, std::max(C, F)), layernorm_backward_workspace_bytes(N, C),
                              attention_backward_workspace_bytes(ad)});
  DeviceBuffer dbranchBuf(NC * 4), dy1Buf(NC * 4), xlnBuf(NC * 4), dxlnBuf(NC * 4), dlnBuf(NC * 4), dflatBuf(3 * NC * 4),
      dactBuf(NF * 4), actBuf(d.gelu ? NF * 4 : 0), wsBuf(ws);
  float* dbranch = dbranchBuf.f();  // (N, C) gradient at a branch output (after its dropout)
  float* dy1 = dy1Buf.f();          // (N, C)
  float* xln = xlnBuf.f();          // (N, C) recomputed layer norm output
  float* dxln = dxlnBuf.f();        // (N, C)
  float* dln = dlnBuf.f();          // (N, C) layer norm input gradient
  float* dflat = dflatBuf.f();      // (N, 3C) dq | dk | dv in each row
  float* dact = dactBuf.f();        // (N, F)
  float* work = wsBuf.f();

  // feed-forward branch
  dropout_or_copy(dbranch, dy, NC, d.ff, d.ffDrop, s);
  column_sums(dbfp, work, dbranch, N, C, s);
  const float* act = h;  // ReLU: h is the activation
  if (d.gelu) {
    gelu_forward(actBuf.f(), h, NF, s);
    act = actBuf.f();
  }
  mm(dwfp, act, dbranch, F, C, N, true, false, d, s);   // (F, C) = act^T dbranch
  mm(dact, dbranch, wfp, N, F, C, false, true, d, s);   // (N, F) = dbranch Wfp^T
  if (d.gelu) gelu_backward(dact, dact, h, NF, s);
  else relu_backward(dact, dact, h, NF, s);
  column_sums(dbfc, work, dact, N, F, s);
  layernorm_forward(xln, nullptr, nullptr, y1, ln2g, ln2b, N, C, d.eps, s);
  mm(dwfc, xln, dact, C, F, N, true, false, d, s);      // (C, F)
  mm(dxln, dact, wfc, N, C, F, false, true, d, s);      // (N, C)
  layernorm_backward(dln, dln2g, dln2b, work, dxln, y1, ln2g, nullptr, nullptr, N, C, d.eps, s);
  residual_dropout_add(dy1, dy, dln, NC, d.ff, false, s);  // dy1 = dy + dln

  // attention branch
  dropout_or_copy(dbranch, dy1, NC, d.proj, d.projDrop, s);
  column_sums(dbproj, work, dbranch, N, C, s);
  mm(dwproj, atty, dbranch, C, C, N, true, false, d, s);  // (C, C)
  mm(dxln, dbranch, wproj, N, C, C, false, true, d, s);   // (N, C) gradient of the attention output
  attention_backward(dflat, dflat + C, dflat + 2 * C, work, dxln, atty, lse, qkv, qkv + C, qkv + 2 * C, ad, s);
  layernorm_forward(xln, nullptr, nullptr, x, ln1g, ln1b, N, C, d.eps, s);
  mm(dwqkv, xln, dflat, C, 3 * C, N, true, false, d, s);  // (C, 3C)
  mm(dxln, dflat, wqkv, N, C, 3 * C, false, true, d, s);  // (N, C)
  layernorm_backward(dln, dln1g, dln1b, work, dxln, x, ln1g, nullptr, nullptr, N, C, d.eps, s);
  residual_dropout_add(dx, dy1, dln, NC, d.proj, false, s);  // dx = dy1 + dln
}

}  // namespace nlc
