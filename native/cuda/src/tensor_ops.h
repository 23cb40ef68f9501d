// Generic tfjs kernels on the device (element-wise, layout, gather, reductions, softmax), with the
// semantics of the native CPU backend (native/kernels/*.cc): JS number semantics for int32 and
// bool (values converted as storing a JS number into the typed array would), NaN-propagating
// max/min, first index on argmax ties. Op codes are native/binding.ts' UnaryOp, BinaryOp,
// ReduceOp. Host arrays (strides, perms, pointer lists) are host memory read at launch; every
// tensor pointer is device memory. Sizes of 0 launch nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "compat.h"

namespace nlc {

enum class DType : int { F32 = 0, I32 = 1, U8 = 2 };  // U8: bool, one byte 0/1
inline size_t dtype_size(DType dt) { return dt == DType::U8 ? 1 : 4; }

constexpr int kMaxRank = 8;
struct Shape {
  int rank;
  int64_t d[kMaxRank];
};

// native/binding.ts UnaryOp, BinaryOp, ReduceOp (same order).
enum UnaryOpCode { kNeg, kExp, kLog, kSqrt, kRsqrt, kSquare, kRelu, kStep, kTanh, kErf, kFloor, kLogicalNot, kAbs,
                   kSigmoid, kReciprocal, kCeil };
enum BinaryOpCode { kAdd, kSub, kMul, kDiv, kMax, kMin, kPow, kSquaredDifference, kFloorDiv, kEqual, kNotEqual, kLess,
                    kLessEqual, kGreater, kGreaterEqual, kLogicalAnd, kLogicalOr };
enum ReduceOpCode { kSum, kMean, kRMax, kRMin, kArgMax, kArgMin };

// Output dtypes as the native backend's TS side picks them: unary keeps x's except Exp (float32)
// and LogicalNot (bool); Sum: float32 stays, int32/bool give int32; Mean float32; Max/Min keep
// x's; ArgMax/ArgMin int32.
DType unary_out_dtype(int op, DType xdt);
DType reduce_out_dtype(int op, DType xdt);

// out[i] = op(x[i]); float32 -> float32 in float, anything else in double as Math.* then stored
// as a JS number into odt. alpha: Step's value for x <= 0.
void unary(int op, DType xdt, DType odt, const void* x, void* out, int64_t n, float alpha, cudaStream_t stream);
// The same with odt = unary_out_dtype(op, dt).
void unary(int op, DType dt, const void* x, void* out, int64_t n, float alpha, cudaStream_t stream);

// out = op(a, b) with broadcasting: outShape (rank <= kMaxRank) and each input's strides in
// elements (host arrays of outShape.rank, 0 on broadcast dims). float32 arithmetic in float
// (Pow, FloorDiv in double), float32 comparisons to bool, any other dtype combination in double.
void binary(int op, DType adt, DType bdt, DType odt, const void* a, const void* b, void* out, const Shape& outShape,
            const int64_t* aStrides, const int64_t* bStrides, cudaStream_t stream);

// to bool: x != 0 (NaN -> 1); float32 -> int32 truncates and wraps (NaN, inf -> 0).
void cast(DType from, DType to, const void* x, void* out, int64_t n, cudaStream_t stream);
// out[i] = cond[i] == 1 ? t[i] : e[i]; all of n elements (the op broadcasts before).
void select(const uint8_t* cond, DType dt, const void* t, const void* e, void* out, int64_t n, cudaStream_t stream);

// out = x permuted: out dim k is x dim perm[k] (host array of shape.rank).
void transpose(DType dt, const void* x, void* out, const Shape& shape, const int* perm, cudaStream_t stream);
// out shape[d] = shape[d] * reps[d] (reps: host array of shape.rank).
void tile(DType dt, const void* x, void* out, const Shape& shape, const int64_t* reps, cudaStream_t stream);
// out = x[begin : begin + size] (host arrays of shape.rank).
void slice(DType dt, const void* x, void* out, const Shape& shape, const int64_t* begin, const int64_t* size,
           cudaStream_t stream);
// out (shape before + x + after, host arrays of xShape.rank) = value, with x copied at before.
void pad(DType dt, const void* x, void* out, const Shape& xShape, const int64_t* before, const int64_t* after,
         double value, cudaStream_t stream);
// Each tensor viewed as (outer, width): out row r = the inputs' rows r side by side. xs: host array
// of count device pointers; widths: host array of count widths in elements.
void concat(DType dt, const void* const* xs, const int64_t* widths, int count, void* out, int64_t outer,
            cudaStream_t stream);
// The inverse: outs[i] (outer, widths[i]) = columns of x. outs: host array of device pointers.
void split(DType dt, const void* x, void* const* outs, const int64_t* widths, int count, int64_t outer,
           cudaStream_t stream);

// GatherV2: x (batch, outer, dim, slice), indices (batch, n) with nIndices = batch * n in all,
// out (batch, outer, n, slice) = x[b, o, indices[b, i], :]. An index outside [0, dim) gives a row
// of zeros here; the CPU backend throws, so callers that must match it check with
// index_find_invalid first.
void gather(DType dt, const void* x, const int32_t* indices, void* out, int64_t batch, int64_t outer, int64_t dim,
            int64_t slice, int64_t nIndices, cudaStream_t stream);
// *firstBad (one device uint64) = smallest i with indices[i] outside [0, limit), or UINT64_MAX.
// Integer atomicMin: the result does not depend on the order.
void index_find_invalid(const int32_t* indices, int64_t n, int64_t limit, unsigned long long* firstBad,
                        cudaStream_t stream);
// out (n, depth) of odt: on where j == indices[i], else off.
void oneHot(const int32_t* indices, void* out, int64_t n, int64_t depth, double on, double off, DType odt,
            cudaStream_t stream);
// out[0] = start, out[i] = out[i-1] + step (in double, stored into dt each time, as tfjs' loop).
// Exact closed form in parallel when it gives the same bits, else one sequential thread.
void range(void* out, int64_t n, double start, double step, DType dt, cudaStream_t stream);
// out[i] = value stored into dt.
void fill(void* out, int64_t n, double value, DType dt, cudaStream_t stream);

// Reduces each row of an (outer, inner) view (the reduced axes innermost). Sums and means in
// double (Mean sums float(x) / float(inner) as tfjs), Max/Min NaN-propagating, ArgMax/ArgMin the
// first index of the extreme over the non-NaN values (0 when x[row, 0] is NaN). inner == 0:
// Sum/Mean 0, Arg 0, Max/Min NaN. Deterministic: long rows of few-row inputs are split across
// blocks with partials in workspace (reduce_workspace_bytes, 8-byte aligned) and a second pass.
size_t reduce_workspace_bytes(int64_t outer, int64_t inner);
void reduce(int op, DType xdt, DType odt, const void* x, void* out, float* workspace, int64_t outer, int64_t inner,
            cudaStream_t stream);
// The same with odt = reduce_out_dtype(op, dt).
void reduce(int op, DType dt, const void* x, void* out, float* workspace, int64_t outer, int64_t inner,
            cudaStream_t stream);

// Row softmax as native/kernels/softmax.cc: max (NaNs skipped), exp(x - max), sum in double, divide.
void softmax_rows(float* out, const float* x, int64_t rows, int64_t cols, cudaStream_t stream);

}  // namespace nlc
