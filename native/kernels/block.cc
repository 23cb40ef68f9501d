// A whole pre-norm transformer block in one forward and one backward call (llm.c style), so a
// training step does not pay tfjs' per-kernel overhead for its ~40 small ops per block:
//   y1 = x + Dropout(Attn(LN1(x)) Wproj + bproj)
//   y  = y1 + Dropout(act(LN2(y1) Wfc + bfc) Wfp + bfp)
// Attention is attention.cc's (dropout on the weights), LayerNorm layernorm.cc's, GELU gelu.cc's
// and the masks dropout.cc's, so the numbers are those of the composite's kernels (same float
// operation order: matmul, + bias, * mask, + residual). Saved for the backward pass: x Wqkv (the
// q | k | v rows, which attention.cc reads in place), the attention output, y1 and h: the fc
// pre-activation with GELU, relu(pre-activation) with ReLU (positive exactly where the
// pre-activation is, all ReLU's backward needs); the layer norm outputs, GELU and the attention
// weights are recomputed.
#include "../src/gemm.h"
#include "attention.h"
#include "common.h"
#include "dropout.h"
#include "gelu.h"
#include "layernorm.h"

namespace nl {
namespace {

struct BlockDims {
  int64_t B, T, C, H, F, N, hs;
  bool gelu;
  float eps;
  DropoutKey attn, proj, ff;  // rate 0: no dropout
};

// Scratch grown on demand and kept: a training step calls the block with the same shapes each
// time, and fresh multi-megabyte buffers would cost page faults on every call.
struct Scratch {
  std::vector<float> buf;
  float* get(size_t n) {
    if (buf.size() < n) buf.resize(n);
    return buf.data();
  }
};
thread_local Scratch g_scratch;

// The element-wise and row-wise work runs on the GEMM's thread pool over a fixed partition of
// the rows or elements (it depends on the sizes only), so sums over rows are combined in the
// same order whatever the thread count: results stay bit-identical.
template <class F>
void par_for(int64_t n, int64_t grain, const F& f) {
  const int64_t chunks = (n + grain - 1) / grain;
  if (chunks <= 1) { if (n > 0) f(int64_t{0}, n, 0); return; }
  struct Ctx { const F* f; int64_t n, grain; } ctx{&f, n, grain};
  nanolab::parallel_tasks(static_cast<int>(chunks), [](void* c, int t) {
    const Ctx& x = *static_cast<const Ctx*>(c);
    const int64_t a = t * x.grain;
    (*x.f)(a, a + x.grain < x.n ? a + x.grain : x.n, t);
  }, &ctx);
}

constexpr int64_t kGrain = 1 << 15;  // elements per task: 128 KB of floats

int64_t row_grain(int64_t C) { return kGrain / C > 0 ? kGrain / C : 1; }

// q, k, v read in place from the rows of x Wqkv (N, 3C), the output written as rows of (N, C).
AttentionDims block_attention_dims(const BlockDims& d) {
  AttentionDims ad = attention_dims(d.B * d.H, d.T, d.hs, d.attn);
  ad.H = d.H;
  ad.qkv = heads_in_rows(d.T, d.hs, 3 * d.C);
  ad.out = heads_in_rows(d.T, d.hs, d.C);
  return ad;
}

NL_CLONES void add_bias_rows(float* y, const float* bias, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = 0; c < C; c++) y[r * C + c] = y[r * C + c] + bias[c];
}

NL_CLONES void add_to_range(float* out, const float* a, const float* b, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

void gelu_fwd(float* out, const float* inp, size_t n) {
  par_for(static_cast<int64_t>(n), kGrain, [&](int64_t i0, int64_t i1, int) { gelu_forward(out + i0, inp + i0, static_cast<size_t>(i1 - i0)); });
}


// out[i0:i1] = x[i0:i1] through the dropout (a copy at rate 0)
void dropout_rows(float* out, const float* x, int64_t i0, int64_t i1, const DropoutKey& key) {
  if (key.rate > 0) dropout_apply_range(out + i0, x + i0, static_cast<uint64_t>(i0), static_cast<size_t>(i1 - i0), key);
  else std::memcpy(out + i0, x + i0, static_cast<size_t>(i1 - i0) * sizeof(float));
}

// Column sums of (N, C): double partial sums over fixed chunks of rows, added in chunk order.
NL_CLONES void col_sum_rows(double* acc, const float* x, int64_t r0, int64_t r1, int64_t C) {
  for (int64_t c = 0; c < C; c++) acc[c] = 0.0;
  for (int64_t r = r0; r < r1; r++)
    for (int64_t c = 0; c < C; c++) acc[c] += x[r * C + c];
}
// pre(r0, r1) first makes rows [r0, r1) of x, in the same task (one pass over the pool, not two).
template <class Pre>
void col_sum(float* out, const float* x, int64_t N, int64_t C, const Pre& pre) {
  const int64_t grain = row_grain(C), chunks = (N + grain - 1) / grain;
  std::vector<double> part(static_cast<size_t>(chunks * C));
  par_for(N, grain, [&](int64_t a, int64_t b, int t) { pre(a, b); col_sum_rows(part.data() + t * C, x, a, b, C); });
  for (int64_t c = 0; c < C; c++) {
    double s = 0.0;
    for (int64_t t = 0; t < chunks; t++) s += part[static_cast<size_t>(t * C + c)];
    out[c] = static_cast<float>(s);
  }
}

void ln_forward(float* out, const float* inp, const float* g, const float* b, int64_t N, int64_t C, float eps) {
  par_for(N, row_grain(C), [&](int64_t r0, int64_t r1, int) { layernorm_forward(out + r0 * C, inp + r0 * C, g, b, r1 - r0, C, eps); });
}

// dgamma, dbeta: per-chunk sums (float, from layernorm_backward), added in chunk order in double.
// Then the residual: dx = dres + dinp, in the same task.
void ln_backward_residual(float* dx, float* dinp, float* dg, float* db, const float* dres, const float* dout,
                          const float* inp, const float* g, int64_t N, int64_t C, float eps) {
  const int64_t grain = row_grain(C), chunks = (N + grain - 1) / grain;
  std::vector<float> part(static_cast<size_t>(chunks * 2 * C));
  par_for(N, grain, [&](int64_t r0, int64_t r1, int t) {
    float* p = part.data() + t * 2 * C;
    layernorm_backward(dinp + r0 * C, p, p + C, dout + r0 * C, inp + r0 * C, g, r1 - r0, C, eps);
    add_to_range(dx, dres, dinp, r0 * C, r1 * C);
  });
  for (int64_t c = 0; c < C; c++) {
    double sg = 0.0, sb = 0.0;
    for (int64_t t = 0; t < chunks; t++) { sg += part[static_cast<size_t>(t * 2 * C + c)]; sb += part[static_cast<size_t>(t * 2 * C + C + c)]; }
    dg[c] = static_cast<float>(sg);
    db[c] = static_cast<float>(sb);
  }
}

// out = res + Dropout(p + bias); p is overwritten. One pass per chunk of rows.
void bias_dropout_residual(float* out, float* p, const float* bias, const float* res, int64_t N, int64_t C,
                           const DropoutKey& key) {
  par_for(N, row_grain(C), [&](int64_t r0, int64_t r1, int) {
    add_bias_rows(p, bias, r0, r1, C);
    const int64_t i0 = r0 * C, i1 = r1 * C;
    if (key.rate > 0) dropout_apply_range(p + i0, p + i0, static_cast<uint64_t>(i0), static_cast<size_t>(i1 - i0), key);
    add_to_range(out, res, p, i0, i1);
  });
}

// h += bias; act = gelu(h). One pass per chunk of rows. (ReLU is fused into the fc GEMM.)
void bias_gelu(float* act, float* h, const float* bias, int64_t N, int64_t F) {
  par_for(N, row_grain(F), [&](int64_t r0, int64_t r1, int) {
    add_bias_rows(h, bias, r0, r1, F);
    gelu_forward(act + r0 * F, h + r0 * F, static_cast<size_t>((r1 - r0) * F));
  });
}

void block_forward(float* y, float* qkv, float* atty, float* y1, float* h, const float* x, const float* ln1g,
                   const float* ln1b, const float* wqkv, const float* wproj, const float* bproj, const float* ln2g,
                   const float* ln2b, const float* wfc, const float* bfc, const float* wfp, const float* bfp,
                   const BlockDims& d) {
  const int64_t N = d.N, C = d.C, F = d.F, NC = N * C;
  const int n = static_cast<int>(N), c = static_cast<int>(C), f = static_cast<int>(F);
  float* s = g_scratch.get(static_cast<size_t>(NC * 2 + (d.gelu ? N * F : 0)));
  float* xln = s;        // (N, C)
  float* p = xln + NC;   // (N, C) a branch's projection
  float* act = d.gelu ? p + NC : h;  // (N, F) the activation (ReLU's is h itself)

  ln_forward(xln, x, ln1g, ln1b, N, C, d.eps);
  nanolab::sgemm(false, false, n, 3 * c, c, 1.0f, xln, c, wqkv, 3 * c, 0.0f, qkv, 3 * c);
  attention_forward(atty, qkv, qkv + C, qkv + 2 * C, block_attention_dims(d));
  nanolab::sgemm(false, false, n, c, c, 1.0f, atty, c, wproj, c, 0.0f, p, c);
  bias_dropout_residual(y1, p, bproj, x, N, C, d.proj);

  ln_forward(xln, y1, ln2g, ln2b, N, C, d.eps);
  if (d.gelu) {
    nanolab::sgemm(false, false, n, f, c, 1.0f, xln, c, wfc, f, 0.0f, h, f);
    bias_gelu(act, h, bfc, N, F);
  } else {  // h = relu(xln Wfc + bfc), in place as the GEMM finishes each part of it
    nanolab::GemmEpilogue ep;
    ep.bias = bfc;
    ep.relu_out = h;
    ep.ld_relu = F;
    nanolab::sgemm_epilogue(false, false, n, f, c, 1.0f, xln, c, wfc, f, 0.0f, h, f, ep);
  }
  nanolab::sgemm(false, false, n, c, f, 1.0f, act, f, wfp, c, 0.0f, p, c);
  bias_dropout_residual(y, p, bfp, y1, N, C, d.ff);
}

void block_backward(float* dx, float* dln1g, float* dln1b, float* dwqkv, float* dwproj, float* dbproj, float* dln2g,
                    float* dln2b, float* dwfc, float* dbfc, float* dwfp, float* dbfp, const float* dy, const float* qkv,
                    const float* atty, const float* y1, const float* h, const float* x, const float* ln1g,
                    const float* ln1b, const float* wqkv, const float* wproj, const float* ln2g, const float* ln2b,
                    const float* wfc, const float* wfp, const BlockDims& d) {
  const int64_t N = d.N, C = d.C, F = d.F, NC = N * C;
  const size_t nf = static_cast<size_t>(N * F);
  const int n = static_cast<int>(N), c = static_cast<int>(C), f = static_cast<int>(F);
  float* s = g_scratch.get(static_cast<size_t>(NC * 8 + (d.gelu ? 2 : 1) * N * F));
  float* dbranch = s;            // (N, C) gradient at a branch output (after its dropout)
  float* dy1 = dbranch + NC;     // (N, C)
  float* xln = dy1 + NC;         // (N, C) recomputed layer norm output
  float* dxln = xln + NC;        // (N, C)
  float* dln = dxln + NC;        // (N, C) layer norm input gradient
  float* dflat = dln + NC;       // (N, 3C) gradient of x Wqkv: dq | dk | dv in each row
  float* dact = dflat + 3 * NC;  // (N, F)
  float* act = d.gelu ? dact + nf : nullptr;  // (N, F) GELU's output, recomputed (ReLU's is h)

  // feed-forward branch
  // dbranch = dy through the dropout; its column sums are the bias gradient
  col_sum(dbfp, dbranch, N, C, [&](int64_t r0, int64_t r1) { dropout_rows(dbranch, dy, r0 * C, r1 * C, d.ff); });
  if (d.gelu) gelu_fwd(act, h, nf);
  const float* a = d.gelu ? act : h;  // (with ReLU, h is the activation)
  nanolab::sgemm(true, false, f, c, n, 1.0f, a, f, dbranch, c, 0.0f, dwfp, c);
  if (d.gelu) {
    nanolab::sgemm(false, true, n, f, c, 1.0f, dbranch, c, wfp, c, 0.0f, dact, f);
    col_sum(dbfc, dact, N, F, [&](int64_t r0, int64_t r1) {
      gelu_backward(dact + r0 * F, dact + r0 * F, h + r0 * F, static_cast<size_t>((r1 - r0) * F));
    });
  } else {  // dact = (dbranch Wfp^T) * step(h), the mask applied as the GEMM finishes each part
    nanolab::GemmEpilogue ep;
    ep.step_of = h;
    ep.ld_step = F;
    nanolab::sgemm_epilogue(false, true, n, f, c, 1.0f, dbranch, c, wfp, c, 0.0f, dact, f, ep);
    col_sum(dbfc, dact, N, F, [](int64_t, int64_t) {});
  }
  ln_forward(xln, y1, ln2g, ln2b, N, C, d.eps);
  nanolab::sgemm(true, false, c, f, n, 1.0f, xln, c, dact, f, 0.0f, dwfc, f);
  nanolab::sgemm(false, true, n, c, f, 1.0f, dact, f, wfc, f, 0.0f, dxln, c);
  ln_backward_residual(dy1, dln, dln2g, dln2b, dy, dxln, y1, ln2g, N, C, d.eps);

  // attention branch
  col_sum(dbproj, dbranch, N, C, [&](int64_t r0, int64_t r1) { dropout_rows(dbranch, dy1, r0 * C, r1 * C, d.proj); });
  nanolab::sgemm(true, false, c, c, n, 1.0f, atty, c, dbranch, c, 0.0f, dwproj, c);
  nanolab::sgemm(false, true, n, c, c, 1.0f, dbranch, c, wproj, c, 0.0f, dxln, c);
  if (d.T > kAttentionBlock)  // the blocked path accumulates dk and dv
    par_for(N, row_grain(3 * C), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; r++) std::memset(dflat + r * 3 * C + C, 0, 2 * static_cast<size_t>(C) * sizeof(float));
    });
  attention_backward(dflat, dflat + C, dflat + 2 * C, dxln, qkv, qkv + C, qkv + 2 * C, block_attention_dims(d));
  ln_forward(xln, x, ln1g, ln1b, N, C, d.eps);
  nanolab::sgemm(true, false, c, 3 * c, n, 1.0f, xln, c, dflat, 3 * c, 0.0f, dwqkv, 3 * c);
  nanolab::sgemm(false, true, n, c, 3 * c, 1.0f, dflat, 3 * c, wqkv, 3 * c, 0.0f, dxln, c);
  ln_backward_residual(dx, dln, dln1g, dln1b, dy1, dxln, x, ln1g, N, C, d.eps);
}

// dims: B, T, C, H, F, gelu, eps, seedLo, seedHi, then rate, callLo, callHi of the attention
// weights', the projection's and the feed-forward's dropout
BlockDims dims_from(const Napi::CallbackInfo& info, size_t at) {
  BlockDims d;
  d.B = inum(info, at); d.T = inum(info, at + 1); d.C = inum(info, at + 2); d.H = inum(info, at + 3);
  d.F = inum(info, at + 4);
  d.gelu = inum(info, at + 5) != 0;
  d.eps = static_cast<float>(num(info, at + 6));
  d.N = d.B * d.T;
  d.hs = d.C / d.H;
  const uint32_t seedLo = u32(info, at + 7), seedHi = u32(info, at + 8);
  DropoutKey* keys[3] = {&d.attn, &d.proj, &d.ff};
  for (int i = 0; i < 3; i++) {
    const size_t k = at + 9 + 3 * i;
    *keys[i] = dropout_key(num(info, k), seedLo, seedHi, u32(info, k + 1), u32(info, k + 2));
  }
  return d;
}

// transformerBlockForward(y, qkv, atty, y1, h, x, ln1g, ln1b, wqkv, wproj, bproj, ln2g, ln2b, wfc, bfc, wfp, bfp, dims...)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const BlockDims d = dims_from(info, 17);
  if (d.N * d.C == 0) return info.Env().Undefined();
  block_forward(f32(info, 0), f32(info, 1), f32(info, 2), f32(info, 3), f32(info, 4), f32(info, 5), f32(info, 6),
                f32(info, 7), f32(info, 8), f32(info, 9), f32(info, 10), f32(info, 11), f32(info, 12), f32(info, 13),
                f32(info, 14), f32(info, 15), f32(info, 16), d);
  return info.Env().Undefined();
}

// transformerBlockBackward(dx, dln1g, dln1b, dwqkv, dwproj, dbproj, dln2g, dln2b, dwfc, dbfc, dwfp, dbfp,
//   dy, qkv, atty, y1, h, x, ln1g, ln1b, wqkv, wproj, ln2g, ln2b, wfc, wfp, dims...)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const BlockDims d = dims_from(info, 26);
  float* g[12];
  for (int i = 0; i < 12; i++) g[i] = f32(info, static_cast<size_t>(i));
  if (d.N * d.C == 0) {  // no rows: the parameter gradients are zero
    const int64_t sizes[12] = {0, d.C, d.C, d.C * 3 * d.C, d.C * d.C, d.C, d.C, d.C, d.C * d.F, d.F, d.F * d.C, d.C};
    for (int i = 1; i < 12; i++) std::memset(g[i], 0, static_cast<size_t>(sizes[i]) * sizeof(float));
    return info.Env().Undefined();
  }
  block_backward(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], f32(info, 12), f32(info, 13),
                 f32(info, 14), f32(info, 15), f32(info, 16), f32(info, 17), f32(info, 18), f32(info, 19), f32(info, 20),
                 f32(info, 21), f32(info, 22), f32(info, 23), f32(info, 24), f32(info, 25), d);
  return info.Env().Undefined();
}

}  // namespace

void init_block(Napi::Env env, Napi::Object exports) {
  exports.Set("transformerBlockForward", Napi::Function::New(env, Forward));
  exports.Set("transformerBlockBackward", Napi::Function::New(env, Backward));
}

}  // namespace nl
