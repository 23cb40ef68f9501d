// Fused causal self-attention over all heads, forward and backward (flash-attention style on
// the CPU: one block of query rows at a time, only the causal part of the scores ever exists).
//   forward  per head and block of rows: S = scale Q K^T, P = softmax(S + causal mask),
//            PM = P * dropout mask, O = PM V
//   backward recomputes S, P, PM per block (nothing but q, k, v is saved), then
//            dV += PM^T dO, dPM = dO V^T, D_i = sum_j dPM_ij PM_ij,
//            dS = PM * dPM - P * D_i (= P * (dPM * M - D_i)), dQ = scale dS K, dK += scale dS^T Q
// The dropout mask of element (b, h, i, j) is element ((b H + h) T + i) T + j of the
// core/random/philox.ts mask of this call, as the composite's dropout on (B, H, T, T) weights.
#include "attention.h"

#include <algorithm>

#include "../src/gemm.h"
#include "common.h"
#include "dropout.h"
#include "vmath.h"

namespace nl {
namespace {

constexpr int64_t kBlock = kAttentionBlock;  // query rows per block (long sequences)
constexpr int64_t kChunkFloats = 1 << 15;  // scores of a chunk of heads (short sequences): 128 KB, in L2

using Dims = AttentionDims;

// Causal softmax of rows [i0, i0 + rows) of one head, in place in S (rows x ncol); columns past
// the diagonal become 0. With dropout, PM gets P * mask (PM may be S itself in the forward pass).
// Each row's passes run to the next multiple of 16 columns (the masked ones enter the exp as
// -inf and come out 0), so they stay in whole vectors instead of ending in a scalar loop.
NL_CLONES void causal_softmax(float* S, float* PM, float* mask, int64_t i0, int64_t rows, int64_t ncol,
                              uint64_t head_base, const Dims& d) {
  for (int64_t r = 0; r < rows; r++) {
    const int64_t i = i0 + r, n = i + 1, n16 = std::min((n + 15) & ~int64_t{15}, ncol);
    float* s = S + r * ncol;
    const float mx = max16(s, static_cast<size_t>(n));
    for (int64_t j = n; j < n16; j++) s[j] = -kInfF;
    for (int64_t j = 0; j < n16; j++) s[j] = exp_f(s[j] - mx);
    const float sum = static_cast<float>(sum8(s, static_cast<size_t>(n16)));
    for (int64_t j = 0; j < n16; j++) s[j] = s[j] / sum;
    for (int64_t j = n16; j < ncol; j++) s[j] = 0.0f;
    if (d.drop) {
      float* pm = PM + r * ncol;
      dropout_mask(mask, head_base + static_cast<uint64_t>(i) * d.T, static_cast<size_t>(n16), d.key);
      for (int64_t j = 0; j < n16; j++) pm[j] = s[j] * mask[j];
      for (int64_t j = n16; j < ncol; j++) pm[j] = 0.0f;
    }
  }
}

// Short sequences: causal softmax of whole heads (rows = heads * T rows of T scores, contiguous),
// with PM = P * mask from one mask call for all of them. Same numbers as causal_softmax, but the
// exp, the dropout and the zeroing run over the whole chunk at once instead of row by row (rows
// of a few elements leave the row loops scalar).
NL_CLONES void causal_softmax_heads(float* S, float* PM, float* mask, int64_t rows, uint64_t first, const Dims& d) {
  const int64_t T = d.T;
  const size_t total = static_cast<size_t>(rows * T);
  for (int64_t r = 0; r < rows; r++) {
    const int64_t n = r % T + 1;
    float* s = S + r * T;
    const float mx = max16(s, static_cast<size_t>(n));
    for (int64_t j = 0; j < T; j++) s[j] = j < n ? s[j] - mx : -kInfF;  // exp gives 0 past the diagonal
  }
  for (size_t i = 0; i < total; i++) S[i] = exp_f(S[i]);
  for (int64_t r = 0; r < rows; r++) {
    float* s = S + r * T;
    const float sum = static_cast<float>(sum8(s, static_cast<size_t>(r % T + 1)));
    for (int64_t j = 0; j < T; j++) s[j] = s[j] / sum;
  }
  if (d.drop) {
    dropout_mask(mask, first, total, d.key);
    for (size_t i = 0; i < total; i++) PM[i] = S[i] * mask[i];
  }
}

// Heads are independent: the long path spreads groups of them over the pool's threads (each
// head's arithmetic is the same whichever thread runs it, so results do not depend on threads).
struct HeadTasks {
  int64_t per_task;
  float* out[3];
  const float* in[4];
  const Dims* d;
};

int64_t heads_per_task(int64_t BH) {
  const int64_t tasks = 4 * static_cast<int64_t>(nanolab::get_num_threads());
  return BH < tasks ? 1 : (BH + tasks - 1) / tasks;
}

void attention_forward_heads(float* out, const float* q, const float* k, const float* v, int64_t h0, int64_t h1, const Dims& d) {
  const int64_t T = d.T, D = d.D, ld = d.qkv.st, ldo = d.out.st;
  std::vector<float> S(static_cast<size_t>(kBlock * T)), mask(d.drop ? static_cast<size_t>(T) : 0);
  for (int64_t bh = h0; bh < h1; bh++) {
    const int64_t off = d.qkv.at(bh, d.H);
    const float* Q = q + off;
    const float* K = k + off;
    const float* V = v + off;
    float* O = out + d.out.at(bh, d.H);
    const uint64_t head_base = static_cast<uint64_t>(bh) * T * T;
    for (int64_t i0 = 0; i0 < T; i0 += kBlock) {
      const int64_t rows = i0 + kBlock < T ? kBlock : T - i0, ncol = i0 + rows;
      nanolab::sgemm(false, true, rows, ncol, D, d.scale, Q + i0 * ld, ld, K, ld, 0.0f, S.data(), ncol);
      causal_softmax(S.data(), S.data(), mask.data(), i0, rows, ncol, head_base, d);
      nanolab::sgemm(false, false, rows, D, ncol, 1.0f, S.data(), ncol, V, ld, 0.0f, O + i0 * ldo, ldo);
    }
  }
}

void attention_forward_long(float* out, const float* q, const float* k, const float* v, const Dims& d) {
  HeadTasks ht{heads_per_task(d.BH), {out, nullptr, nullptr}, {q, k, v, nullptr}, &d};
  const int n = static_cast<int>((d.BH + ht.per_task - 1) / ht.per_task);
  nanolab::parallel_tasks(n, [](void* c, int t) {
    const HeadTasks& h = *static_cast<HeadTasks*>(c);
    const int64_t h0 = t * h.per_task, h1 = std::min(h.d->BH, h0 + h.per_task);
    attention_forward_heads(h.out[0], h.in[0], h.in[1], h.in[2], h0, h1, *h.d);
  }, &ht);
}

NL_CLONES void scores_grad(float* dS, const float* P, const float* PM, int64_t i0, int64_t rows, int64_t ncol, bool drop) {
  for (int64_t r = 0; r < rows; r++) {  // to a multiple of 16 columns, as causal_softmax (P, PM are 0 there)
    const int64_t n = i0 + r + 1, n16 = std::min((n + 15) & ~int64_t{15}, ncol);
    float* ds = dS + r * ncol;
    const float* p = P + r * ncol;
    const float* pm = PM + r * ncol;
    const float Di = static_cast<float>(dot8(ds, pm, static_cast<size_t>(n16)));
    if (drop) for (int64_t j = 0; j < n16; j++) ds[j] = pm[j] * ds[j] - p[j] * Di;
    else for (int64_t j = 0; j < n16; j++) ds[j] = p[j] * (ds[j] - Di);
    for (int64_t j = n16; j < ncol; j++) ds[j] = 0.0f;
  }
}

// Short sequences: scores_grad over whole heads (rows = heads * T rows of T), the row sums first,
// then the element-wise part over full rows (0 past the diagonal, where P and PM are 0).
NL_CLONES void scores_grad_heads(float* dS, const float* P, const float* PM, float* Di, int64_t rows, int64_t T, bool drop) {
  for (int64_t r = 0; r < rows; r++) Di[r] = static_cast<float>(dot8(dS + r * T, PM + r * T, static_cast<size_t>(r % T + 1)));
  for (int64_t r = 0; r < rows; r++) {
    float* ds = dS + r * T;
    const float* p = P + r * T;
    const float* pm = PM + r * T;
    const float di = Di[r];
    if (drop) for (int64_t j = 0; j < T; j++) ds[j] = pm[j] * ds[j] - p[j] * di;
    else for (int64_t j = 0; j < T; j++) ds[j] = p[j] * (ds[j] - di);
  }
}

// Long sequences, heads [h0, h1). dk, dv must be zero-filled (they accumulate over blocks).
void attention_backward_heads(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                              const float* v, int64_t h0, int64_t h1, const Dims& d) {
  const int64_t T = d.T, D = d.D, ld = d.qkv.st, ldo = d.out.st;
  const size_t blk = static_cast<size_t>(kBlock * T);
  std::vector<float> P(blk), PMbuf(d.drop ? blk : 0), dS(blk), mask(d.drop ? static_cast<size_t>(T) : 0);
  for (int64_t bh = h0; bh < h1; bh++) {
    const int64_t off = d.qkv.at(bh, d.H);
    const float *Q = q + off, *K = k + off, *V = v + off, *dO = dout + d.out.at(bh, d.H);
    float *dQ = dq + off, *dK = dk + off, *dV = dv + off;
    const uint64_t head_base = static_cast<uint64_t>(bh) * T * T;
    for (int64_t i0 = 0; i0 < T; i0 += kBlock) {
      const int64_t rows = i0 + kBlock < T ? kBlock : T - i0, ncol = i0 + rows;
      float* PM = d.drop ? PMbuf.data() : P.data();
      nanolab::sgemm(false, true, rows, ncol, D, d.scale, Q + i0 * ld, ld, K, ld, 0.0f, P.data(), ncol);
      causal_softmax(P.data(), PM, mask.data(), i0, rows, ncol, head_base, d);
      nanolab::sgemm(true, false, ncol, D, rows, 1.0f, PM, ncol, dO + i0 * ldo, ldo, 1.0f, dV, ld);
      nanolab::sgemm(false, true, rows, ncol, D, 1.0f, dO + i0 * ldo, ldo, V, ld, 0.0f, dS.data(), ncol);
      scores_grad(dS.data(), P.data(), PM, i0, rows, ncol, d.drop);
      nanolab::sgemm(false, false, rows, D, ncol, d.scale, dS.data(), ncol, K, ld, 0.0f, dQ + i0 * ld, ld);
      nanolab::sgemm(true, false, ncol, D, rows, d.scale, dS.data(), ncol, Q + i0 * ld, ld, 1.0f, dK, ld);
    }
  }
}

void attention_backward_long(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                             const float* v, const Dims& d) {
  HeadTasks ht{heads_per_task(d.BH), {dq, dk, dv}, {dout, q, k, v}, &d};
  const int n = static_cast<int>((d.BH + ht.per_task - 1) / ht.per_task);
  nanolab::parallel_tasks(n, [](void* c, int t) {
    const HeadTasks& h = *static_cast<HeadTasks*>(c);
    const int64_t h0 = t * h.per_task, h1 = std::min(h.d->BH, h0 + h.per_task);
    attention_backward_heads(h.out[0], h.out[1], h.out[2], h.in[0], h.in[1], h.in[2], h.in[3], h0, h1, *h.d);
  }, &ht);
}

// Short sequences (T <= kBlock, one block per head): the heads go through the gemm in chunks of
// sgemm_batched calls instead of a few tiny sgemm calls each; the chunk's scores stay in L2.
int64_t heads_per_chunk(const Dims& d) {
  const int64_t g = kChunkFloats / (d.T * d.T);
  return g < 1 ? 1 : (g > d.BH ? d.BH : g);
}

// The heads of a chunk go through the gemm in runs that sgemm_batched can stride over: heads of
// one batch row (stride sh); a chunk's scores are contiguous, T x T per head.
template <class F>
void for_head_runs(int64_t h0, int64_t g, const Dims& d, const F& f) {
  const bool uniform = d.qkv.sb == d.H * d.qkv.sh && d.out.sb == d.H * d.out.sh;  // e.g. contiguous heads
  for (int64_t bh = h0; bh < h0 + g;) {
    const int64_t run = uniform ? g : std::min(d.H - bh % d.H, h0 + g - bh);
    f(bh, static_cast<int>(run), bh - h0);
    bh += run;
  }
}

// chunk c of G heads, one pool task each
void attention_forward_chunk(float* out, const float* q, const float* k, const float* v, int64_t c, const Dims& d) {
  const int64_t T = d.T, D = d.D, TT = T * T, G = heads_per_chunk(d), ld = d.qkv.st, ldo = d.out.st;
  const int64_t sh = d.qkv.sh, sho = d.out.sh;
  std::vector<float> S(static_cast<size_t>(G * TT)), mask(d.drop ? static_cast<size_t>(G * TT) : 0);
  const int64_t h0 = c * G, g = std::min(G, d.BH - h0);
  for_head_runs(h0, g, d, [&](int64_t bh, int run, int64_t i) {
    const int64_t o = d.qkv.at(bh, d.H);
    nanolab::sgemm_batched(run, false, true, T, T, D, d.scale, q + o, ld, sh, k + o, ld, sh, 0.0f, S.data() + i * TT, T, TT);
  });
  causal_softmax_heads(S.data(), S.data(), mask.data(), g * T, static_cast<uint64_t>(h0) * TT, d);
  for_head_runs(h0, g, d, [&](int64_t bh, int run, int64_t i) {
    const int64_t o = d.qkv.at(bh, d.H);
    nanolab::sgemm_batched(run, false, false, T, D, T, 1.0f, S.data() + i * TT, T, TT, v + o, ld, sh, 0.0f,
                           out + d.out.at(bh, d.H), ldo, sho);
  });
}

void attention_backward_chunk(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                              const float* v, int64_t c, const Dims& d) {
  const int64_t T = d.T, D = d.D, TT = T * T, G = heads_per_chunk(d), ld = d.qkv.st, ldo = d.out.st;
  const int64_t sh = d.qkv.sh, sho = d.out.sh;
  const size_t n = static_cast<size_t>(G * TT);
  std::vector<float> P(n), PMbuf(d.drop ? n : 0), dS(n), mask(d.drop ? n : 0), Di(static_cast<size_t>(G * T));
  float* PM = d.drop ? PMbuf.data() : P.data();
  const int64_t h0 = c * G, g = std::min(G, d.BH - h0);
  for_head_runs(h0, g, d, [&](int64_t bh, int run, int64_t i) {
    const int64_t o = d.qkv.at(bh, d.H);
    nanolab::sgemm_batched(run, false, true, T, T, D, d.scale, q + o, ld, sh, k + o, ld, sh, 0.0f, P.data() + i * TT, T, TT);
  });
  causal_softmax_heads(P.data(), PM, mask.data(), g * T, static_cast<uint64_t>(h0) * TT, d);
  for_head_runs(h0, g, d, [&](int64_t bh, int run, int64_t i) {
    const int64_t o = d.qkv.at(bh, d.H), oo = d.out.at(bh, d.H);
    nanolab::sgemm_batched(run, true, false, T, D, T, 1.0f, PM + i * TT, T, TT, dout + oo, ldo, sho, 0.0f, dv + o, ld, sh);
    nanolab::sgemm_batched(run, false, true, T, T, D, 1.0f, dout + oo, ldo, sho, v + o, ld, sh, 0.0f, dS.data() + i * TT, T, TT);
  });
  scores_grad_heads(dS.data(), P.data(), PM, Di.data(), g * T, T, d.drop);
  for_head_runs(h0, g, d, [&](int64_t bh, int run, int64_t i) {
    const int64_t o = d.qkv.at(bh, d.H);
    nanolab::sgemm_batched(run, false, false, T, D, T, d.scale, dS.data() + i * TT, T, TT, k + o, ld, sh, 0.0f, dq + o, ld, sh);
    nanolab::sgemm_batched(run, true, false, T, D, T, d.scale, dS.data() + i * TT, T, TT, q + o, ld, sh, 0.0f, dk + o, ld, sh);
  });
}

int chunks(const Dims& d) { return static_cast<int>((d.BH + heads_per_chunk(d) - 1) / heads_per_chunk(d)); }

void attention_forward_short(float* out, const float* q, const float* k, const float* v, const Dims& d) {
  HeadTasks ht{0, {out, nullptr, nullptr}, {q, k, v, nullptr}, &d};
  nanolab::parallel_tasks(chunks(d), [](void* c, int t) {
    const HeadTasks& h = *static_cast<HeadTasks*>(c);
    attention_forward_chunk(h.out[0], h.in[0], h.in[1], h.in[2], t, *h.d);
  }, &ht);
}

void attention_backward_short(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                              const float* v, const Dims& d) {
  HeadTasks ht{0, {dq, dk, dv}, {dout, q, k, v}, &d};
  nanolab::parallel_tasks(chunks(d), [](void* c, int t) {
    const HeadTasks& h = *static_cast<HeadTasks*>(c);
    attention_backward_chunk(h.out[0], h.out[1], h.out[2], h.in[0], h.in[1], h.in[2], h.in[3], t, *h.d);
  }, &ht);
}

Dims dims_from(const Napi::CallbackInfo& info, size_t at) {
  return attention_dims(inum(info, at), inum(info, at + 1), inum(info, at + 2),
                        dropout_key(num(info, at + 3), u32(info, at + 4), u32(info, at + 5), u32(info, at + 6), u32(info, at + 7)));
}

// attentionForward(out, q, k, v, BH, T, D, rate, seedLo, seedHi, callLo, callHi)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  attention_forward(f32(info, 0), f32(info, 1), f32(info, 2), f32(info, 3), dims_from(info, 4));
  return info.Env().Undefined();
}

// attentionBackward(dq, dk, dv, dout, q, k, v, BH, T, D, rate, seedLo, seedHi, callLo, callHi)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  attention_backward(f32(info, 0), f32(info, 1), f32(info, 2), f32(info, 3), f32(info, 4), f32(info, 5), f32(info, 6),
                     dims_from(info, 7));
  return info.Env().Undefined();
}

}  // namespace

AttentionDims attention_dims(int64_t BH, int64_t T, int64_t D, const DropoutKey& key) {
  AttentionDims d;
  d.BH = BH; d.H = 1; d.T = T; d.D = D;
  d.qkv = d.out = heads_contiguous(1, T, D);
  d.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  d.key = key;
  d.drop = key.rate > 0;
  return d;
}

void attention_forward(float* out, const float* q, const float* k, const float* v, const AttentionDims& d) {
  if (d.BH * d.T * d.D == 0) return;
  if (d.T <= kBlock) attention_forward_short(out, q, k, v, d);
  else attention_forward_long(out, q, k, v, d);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, const AttentionDims& d) {
  if (d.BH * d.T * d.D == 0) return;
  if (d.T <= kBlock) attention_backward_short(dq, dk, dv, dout, q, k, v, d);
  else attention_backward_long(dq, dk, dv, dout, q, k, v, d);
}

void init_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, Forward));
  exports.Set("attentionBackward", Napi::Function::New(env, Backward));
}

}  // namespace nl
