// Checks of src/tensor_ops.cu against plain CPU references written from native/kernels/*.cc
// (JS number semantics in double). Exact ops compare bits (so -0 and NaN count); transcendental
// float ops compare within 1e-5 relative. Small shapes: the emulator runs each CUDA thread as a
// fiber.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../src/compat.h"
#include "../src/tensor_ops.h"

using nlc::DType;
using nlc::Shape;

namespace {

int failures = 0;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// ECMAScript ToUint32 (native/kernels/common.h).
uint32_t to_u32(double d) {
  if (!std::isfinite(d)) return 0;
  double m = std::fmod(std::trunc(d), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  return static_cast<uint32_t>(m);
}

// A host tensor as JS numbers; bytes() stores them as the typed array of dt would.
struct T {
  DType dt;
  std::vector<double> v;
};

std::vector<unsigned char> to_bytes(DType dt, const std::vector<double>& v) {
  std::vector<unsigned char> b(v.size() * nlc::dtype_size(dt) + 1);
  for (size_t i = 0; i < v.size(); i++) {
    if (dt == DType::F32) { const float f = static_cast<float>(v[i]); std::memcpy(&b[i * 4], &f, 4); }
    else if (dt == DType::I32) { const int32_t x = static_cast<int32_t>(to_u32(v[i])); std::memcpy(&b[i * 4], &x, 4); }
    else b[i] = static_cast<unsigned char>(to_u32(v[i]) & 0xff);
  }
  return b;
}

std::vector<double> from_bytes(DType dt, const unsigned char* b, size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; i++) {
    if (dt == DType::F32) { float f; std::memcpy(&f, b + i * 4, 4); v[i] = f; }
    else if (dt == DType::I32) { int32_t x; std::memcpy(&x, b + i * 4, 4); v[i] = x; }
    else v[i] = b[i];
  }
  return v;
}

// Values as stored (a double through float for F32), for references.
std::vector<double> stored(DType dt, const std::vector<double>& v) { return from_bytes(dt, to_bytes(dt, v).data(), v.size()); }

std::vector<void*> allocs;
void* dmalloc(size_t bytes) {
  void* p = nullptr;
  NL_CUDA_CHECK(cudaMalloc(&p, bytes));  // exact: emu-asan catches overruns
  allocs.push_back(p);
  return p;
}
void* upload(DType dt, const std::vector<double>& v) {
  const auto b = to_bytes(dt, v);
  void* p = dmalloc(b.size());
  NL_CUDA_CHECK(cudaMemcpy(p, b.data(), b.size(), cudaMemcpyHostToDevice));
  return p;
}
// An output buffer pre-filled with garbage, so unwritten elements show.
void* out_buf(DType dt, size_t n) {
  const size_t bytes = n * nlc::dtype_size(dt) + 1;
  void* p = dmalloc(bytes);
  NL_CUDA_CHECK(cudaMemset(p, 0x7b, bytes));
  return p;
}
std::vector<double> download(DType dt, const void* p, size_t n) {
  std::vector<unsigned char> b(n * nlc::dtype_size(dt) + 1);
  NL_CUDA_CHECK(cudaMemcpy(b.data(), p, b.size() - 1, cudaMemcpyDeviceToHost));
  return from_bytes(dt, b.data(), n);
}

// tol 0: same value, same sign of zero, NaN where NaN; else relative (to max(1, |want|)) tolerance.
void check(const std::string& what, const std::vector<double>& got, const std::vector<double>& want, double tol = 0) {
  double maxAbs = 0;
  bool ok = got.size() == want.size();
  size_t bad = 0;
  for (size_t i = 0; ok && i < got.size(); i++) {
    const double g = got[i], w = want[i];
    bool same;
    if (w != w || g != g) same = (w != w) && (g != g);
    else if (std::isinf(w) || std::isinf(g)) same = g == w;
    else if (tol == 0) same = g == w && std::signbit(g) == std::signbit(w);
    else same = std::fabs(g - w) <= tol * std::max(1.0, std::fabs(w));
    if (g == g && w == w && !std::isinf(g) && !std::isinf(w)) maxAbs = std::max(maxAbs, std::fabs(g - w));
    if (!same && ok) { ok = false; bad = i; }
  }
  std::printf("%s %s max_abs=%.3g", ok ? "ok  " : "FAIL", what.c_str(), maxAbs);
  if (!ok && got.size() == want.size()) std::printf("  (first bad [%zu]: got %.9g want %.9g)", bad, got[bad], want[bad]);
  if (got.size() != want.size()) std::printf("  (size %zu vs %zu)", got.size(), want.size());
  std::printf("\n");
  failures += !ok;
}

const char* dname(DType dt) { return dt == DType::F32 ? "f32" : dt == DType::I32 ? "i32" : "u8"; }

Shape shape_of(std::vector<int64_t> d) {
  Shape s;
  s.rank = static_cast<int>(d.size());
  for (size_t i = 0; i < d.size(); i++) s.d[i] = d[i];
  return s;
}
int64_t numel(const std::vector<int64_t>& d) {
  int64_t n = 1;
  for (auto x : d) n *= x;
  return n;
}
std::vector<int64_t> strides_of(const std::vector<int64_t>& d) {
  std::vector<int64_t> s(d.size());
  int64_t a = 1;
  for (int i = static_cast<int>(d.size()) - 1; i >= 0; i--) { s[i] = a; a *= d[i]; }
  return s;
}

uint32_t rng = 12345;
double urand() { rng = rng * 1664525u + 1013904223u; return (rng >> 8) / 16777216.0; }
std::vector<double> randv(size_t n, double lo, double hi) {
  std::vector<double> v(n);
  for (auto& x : v) x = lo + (hi - lo) * urand();
  return v;
}
std::vector<double> randi(size_t n, int lo, int hi) {
  std::vector<double> v(n);
  for (auto& x : v) x = lo + static_cast<int>(urand() * (hi - lo + 1));
  return v;
}

// ---------------------------------------------------------------------------------------------
// References (native/kernels/*.cc)

double erf_tfjs(float xf) {
  const double x = xf, v = std::fabs(x);
  const double t = 1.0 / (1.0 + 0.3275911 * v);
  const double poly = ((((1.061405429 * t + -1.453152027) * t + 1.421413741) * t + -0.284496736) * t + 0.254829592) * t;
  const double y = 1.0 - poly * std::exp(-v * v);
  const float r = static_cast<float>(std::copysign(y, x));
  return xf == 0.0f ? xf : r;
}

double unary_ref(int op, double v, double alpha) {
  switch (op) {
    case nlc::kNeg: return -v;
    case nlc::kExp: return std::exp(v);
    case nlc::kLog: return std::log(v);
    case nlc::kSqrt: return std::sqrt(v);
    case nlc::kRsqrt: return 1.0 / std::sqrt(v);
    case nlc::kSquare: return v * v;
    case nlc::kRelu: return v > 0 ? v : (v != v ? v : 0.0);
    case nlc::kStep: return v != v ? v : (v > 0 ? 1.0 : alpha);
    case nlc::kTanh: return std::tanh(v);
    case nlc::kErf: return erf_tfjs(static_cast<float>(v));
    case nlc::kFloor: return std::floor(v);
    case nlc::kLogicalNot: return (v == 0 || v != v) ? 1.0 : 0.0;
    case nlc::kAbs: return std::fabs(v);
    case nlc::kSigmoid: return 1.0 / (1.0 + std::exp(-v));
    case nlc::kReciprocal: return 1.0 / v;
    case nlc::kCeil: return std::ceil(v);
    default: return 0;
  }
}

double binary_ref(int op, double x, double y, bool f32) {
  using namespace nlc;
  switch (op) {
    case kAdd: return f32 ? static_cast<double>(static_cast<float>(x) + static_cast<float>(y)) : x + y;
    case kSub: return f32 ? static_cast<double>(static_cast<float>(x) - static_cast<float>(y)) : x - y;
    case kMul: return f32 ? static_cast<double>(static_cast<float>(x) * static_cast<float>(y)) : x * y;
    case kDiv: return f32 ? static_cast<double>(static_cast<float>(x) / static_cast<float>(y)) : x / y;
    case kMax: return (x != x || y != y) ? x + y : (x > y ? x : (y > x ? y : (std::signbit(x) ? y : x)));
    case kMin: return (x != x || y != y) ? x + y : (x < y ? x : (y < x ? y : (std::signbit(x) ? x : y)));
    case kPow: return std::pow(x, y);
    case kSquaredDifference: {
      if (f32) { const float d = static_cast<float>(x) - static_cast<float>(y); return static_cast<double>(d * d); }
      return (x - y) * (x - y);
    }
    case kFloorDiv: return std::floor(x / y);
    case kEqual: return x == y;
    case kNotEqual: return x != y;
    case kLess: return x < y;
    case kLessEqual: return x <= y;
    case kGreater: return x > y;
    case kGreaterEqual: return x >= y;
    case kLogicalAnd: return (x != 0 && x == x) && (y != 0 && y == y);
    case kLogicalOr: return (x != 0 && x == x) || (y != 0 && y == y);
    default: return 0;
  }
}

// ---------------------------------------------------------------------------------------------

void test_unary() {
  std::vector<double> special = {0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.7, -3.7, 100.0, -100.0, 1e-30, -1e-30,
                                 88.0, -88.0, 1e30, kNaN, kInf, -kInf, 0.1, -0.1, 7.0};
  std::vector<double> xs = special;
  for (double v : randv(1031 - special.size(), -6, 6)) xs.push_back(v);
  xs = stored(DType::F32, xs);
  const size_t n = xs.size();
  void* dx = upload(DType::F32, xs);
  const char* names[] = {"neg", "exp", "log", "sqrt", "rsqrt", "square", "relu", "step", "tanh", "erf", "floor",
                         "logicalNot", "abs", "sigmoid", "reciprocal", "ceil"};
  for (int op = 0; op <= nlc::kCeil; op++) {
    const DType odt = nlc::unary_out_dtype(op, DType::F32);
    void* dout = out_buf(odt, n);
    nlc::unary(op, DType::F32, dx, dout, static_cast<int64_t>(n), 0.25f, nullptr);
    std::vector<double> want(n);
    for (size_t i = 0; i < n; i++) want[i] = unary_ref(op, xs[i], 0.25);
    const bool exact = op == nlc::kNeg || op == nlc::kSquare || op == nlc::kRelu || op == nlc::kStep ||
                       op == nlc::kFloor || op == nlc::kAbs || op == nlc::kCeil || op == nlc::kLogicalNot ||
                       op == nlc::kReciprocal || op == nlc::kRsqrt;
    check(std::string("unary f32 ") + names[op], download(odt, dout, n), stored(odt, want), exact ? 0 : op == nlc::kErf ? 1e-6 : 1e-5);
  }
  // int32 in, JS semantics out (wraps, Exp to float32, LogicalNot to bool)
  std::vector<double> is = {0, 1, -1, 7, -7, 50000, -50000, 2147483647, -2147483648.0, 46341, 3, -3};
  for (double v : randi(200, -1000, 1000)) is.push_back(v);
  void* di = upload(DType::I32, is);
  for (int op : {nlc::kNeg, nlc::kAbs, nlc::kSquare, nlc::kRelu, nlc::kStep, nlc::kFloor, nlc::kExp, nlc::kLogicalNot,
                 nlc::kReciprocal, nlc::kSqrt, nlc::kSigmoid, nlc::kTanh}) {
    const DType odt = nlc::unary_out_dtype(op, DType::I32);
    void* dout = out_buf(odt, is.size());
    nlc::unary(op, DType::I32, di, dout, static_cast<int64_t>(is.size()), 0.5f, nullptr);
    std::vector<double> want(is.size());
    for (size_t i = 0; i < is.size(); i++) want[i] = unary_ref(op, is[i], 0.5);
    check(std::string("unary i32->") + dname(odt) + " " + names[op], download(odt, dout, is.size()),
          stored(odt, want), op == nlc::kExp ? 1e-6 : 0);
  }
  // bool logicalNot, float logicalNot (NaN -> true), int32 -> float32 with explicit out dtype
  {
    std::vector<double> b = {0, 1, 1, 0, 1};
    void* db = upload(DType::U8, b);
    void* dout = out_buf(DType::U8, b.size());
    nlc::unary(nlc::kLogicalNot, DType::U8, db, dout, 5, 0, nullptr);
    check("unary u8 logicalNot", download(DType::U8, dout, 5), {1, 0, 0, 1, 0});
    dout = out_buf(DType::F32, is.size());
    nlc::unary(nlc::kNeg, DType::I32, DType::F32, di, dout, static_cast<int64_t>(is.size()), 0, nullptr);
    std::vector<double> want(is.size());
    for (size_t i = 0; i < is.size(); i++) want[i] = -is[i];
    check("unary i32->f32 neg", download(DType::F32, dout, is.size()), stored(DType::F32, want));
  }
  nlc::unary(nlc::kNeg, DType::F32, dx, nullptr, 0, 0, nullptr);  // zero size: nothing
}

// One binary case: a of shape as, b of shape bs, broadcast to the output shape.
void binary_case(const std::string& what, int op, DType adt, DType bdt, DType odt, std::vector<int64_t> ash,
                 std::vector<int64_t> bsh, const std::vector<double>& av, const std::vector<double>& bv) {
  const double tol = op == nlc::kPow ? 1e-6 : 0;  // device pow may differ from the host's by an ulp in double
  const size_t rank = std::max(ash.size(), bsh.size());
  while (ash.size() < rank) ash.insert(ash.begin(), 1);
  while (bsh.size() < rank) bsh.insert(bsh.begin(), 1);
  std::vector<int64_t> osh(rank), sa(rank), sb(rank);
  const auto ast = strides_of(ash), bst = strides_of(bsh);
  for (size_t d = 0; d < rank; d++) {
    osh[d] = std::max(ash[d], bsh[d]);
    sa[d] = ash[d] == 1 ? 0 : ast[d];
    sb[d] = bsh[d] == 1 ? 0 : bst[d];
  }
  const int64_t n = numel(osh);
  const auto a = stored(adt, av), b = stored(bdt, bv);
  void* da = upload(adt, a);
  void* db = upload(bdt, b);
  void* dout = out_buf(odt, static_cast<size_t>(n));
  nlc::binary(op, adt, bdt, odt, da, db, dout, shape_of(osh), sa.data(), sb.data(), nullptr);
  const bool f32 = adt == DType::F32 && bdt == DType::F32 && odt == DType::F32;
  std::vector<double> want(static_cast<size_t>(n));
  const auto ost = strides_of(osh);
  for (int64_t i = 0; i < n; i++) {
    int64_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; d++) { const int64_t c = (i / ost[d]) % osh[d]; ia += c * sa[d]; ib += c * sb[d]; }
    want[static_cast<size_t>(i)] = binary_ref(op, a[static_cast<size_t>(ia)], b[static_cast<size_t>(ib)], f32);
  }
  check("binary " + what, download(odt, dout, static_cast<size_t>(n)), stored(odt, want), tol);
}

void test_binary() {
  using namespace nlc;
  const char* names[] = {"add", "sub", "mul", "div", "max", "min", "pow", "sqdiff", "floordiv", "equal", "notEqual",
                         "less", "lessEqual", "greater", "greaterEqual", "and", "or"};
  // float32 arithmetic and comparisons over every layout
  std::vector<double> sp = {0.0, -0.0, kNaN, 1.0, -1.0, 2.5, -7.0, 3.0, kInf, -kInf, 0.5, -0.5};
  for (int op = kAdd; op <= kGreaterEqual; op++) {
    const DType odt = op >= kEqual ? DType::U8 : DType::F32;
    const std::string nm = names[op];
    binary_case(nm + " f32 [2,1,3]x[1,4,1]", op, DType::F32, DType::F32, odt, {2, 1, 3}, {1, 4, 1}, randv(6, -3, 3),
                randv(4, -3, 3));
    binary_case(nm + " f32 same 12x12 specials", op, DType::F32, DType::F32, odt, {12, 12}, {12, 12},
                [&] { std::vector<double> v; for (int i = 0; i < 144; i++) v.push_back(sp[i % 12]); return v; }(),
                [&] { std::vector<double> v; for (int i = 0; i < 144; i++) v.push_back(sp[i / 12]); return v; }());
    binary_case(nm + " f32 scalar x [5,7]", op, DType::F32, DType::F32, odt, {}, {5, 7}, {1.5}, randv(35, -3, 3));
    binary_case(nm + " f32 [3,5,7] x scalar", op, DType::F32, DType::F32, odt, {3, 5, 7}, {1}, randv(105, -3, 3),
                {-1.25});
    binary_case(nm + " f32 [3,4,5] x [4,1]", op, DType::F32, DType::F32, odt, {3, 4, 5}, {4, 1}, randv(60, -3, 3),
                randv(4, -3, 3));
  }
  // pow edge cases (C pow, as the CPU backend's std::pow)
  binary_case("pow f32 edges", kPow, DType::F32, DType::F32, DType::F32, {12}, {12},
              {-8, 0, 0, -0.0, kNaN, 1, -1, -2, 2, -2, 0.5, kInf},
              {1.0 / 3, -1, 0.5, -3, 0, kNaN, kInf, 3, 0.5, -2, -kInf, -0.5});
  // floor division of negatives: float32 -> int32 (tfjs FloorDiv) and int32
  binary_case("floordiv f32->i32", kFloorDiv, DType::F32, DType::F32, DType::I32, {8}, {8},
              {-7, 7, -7, 7, 5, -0.5, 1, 3e10}, {2, -2, -2, 2, 0, 3, kNaN, 1});
  binary_case("floordiv i32 negatives", kFloorDiv, DType::I32, DType::I32, DType::I32, {8}, {8},
              {-7, 7, -7, 7, 5, -1, -2147483648.0, 9}, {2, -2, -2, 2, 0, 3, -1, 3});
  // int32 arithmetic wraps as a JS number stored into an Int32Array
  for (int op : {kAdd, kSub, kMul, kDiv, kMax, kMin, kPow, kSquaredDifference}) {
    binary_case(std::string(names[op]) + " i32 wrap", op, DType::I32, DType::I32, DType::I32, {6}, {6},
                {2147483647, -2147483648.0, 65536, -7, 2, 100000}, {1, -1, 65536, 2, 31, 100000});
    binary_case(std::string(names[op]) + " i32 [2,1,3]x[1,4,1]", op, DType::I32, DType::I32, DType::I32, {2, 1, 3},
                {1, 4, 1}, randi(6, -20, 20), randi(4, -5, 5));
  }
  for (int op = kEqual; op <= kGreaterEqual; op++) {
    binary_case(std::string(names[op]) + " i32->u8", op, DType::I32, DType::I32, DType::U8, {3, 4}, {4},
                randi(12, -2, 2), randi(4, -2, 2));
  }
  for (int op : {kLogicalAnd, kLogicalOr, kEqual}) {
    binary_case(std::string(names[op]) + " u8 [2,1,3]x[1,4,1]", op, DType::U8, DType::U8, DType::U8, {2, 1, 3},
                {1, 4, 1}, randi(6, 0, 1), randi(4, 0, 1));
  }
  binary_case("logicalAnd f32 NaN", kLogicalAnd, DType::F32, DType::F32, DType::U8, {4}, {4}, {kNaN, 1, 0, 2},
              {1, kNaN, 1, -0.0});
  binary_case("add f32+i32->f32 mixed", kAdd, DType::F32, DType::I32, DType::F32, {2, 3}, {3}, randv(6, -2, 2),
              {1, 2, 3});
  // rank 6 with broadcast dims in the middle (no merging possible): the general index path
  binary_case("mul f32 rank 6", kMul, DType::F32, DType::F32, DType::F32, {2, 3, 1, 2, 3, 2}, {2, 1, 2, 1, 3, 1},
              randv(72, -2, 2), randv(12, -2, 2));
  // zero-size output: nothing launched
  nlc::binary(kAdd, DType::F32, DType::F32, DType::F32, nullptr, nullptr, nullptr, shape_of({3, 0}),
              std::vector<int64_t>{0, 1}.data(), std::vector<int64_t>{0, 1}.data(), nullptr);
}

void test_cast_select_fill() {
  std::vector<double> f = {0.0, -0.0, 1.5, -2.7, kNaN, kInf, -kInf, 3e9, -3e9, 2147483647.0, 16777217, 0.25, 255, 256};
  const DType all[] = {DType::F32, DType::I32, DType::U8};
  for (DType from : all) {
    const auto x = stored(from, f);
    void* dx = upload(from, x);
    for (DType to : all) {
      void* dout = out_buf(to, x.size());
      nlc::cast(from, to, dx, dout, static_cast<int64_t>(x.size()), nullptr);
      std::vector<double> want(x.size());
      for (size_t i = 0; i < x.size(); i++) want[i] = to == DType::U8 ? (x[i] != 0 ? 1 : 0) : x[i];
      check(std::string("cast ") + dname(from) + "->" + dname(to), download(to, dout, x.size()), stored(to, want));
    }
  }
  // select: only cond == 1 takes t
  const size_t n = 301;
  std::vector<double> c = randi(n, 0, 2);
  void* dc = upload(DType::U8, c);
  for (DType dt : all) {
    const auto t = stored(dt, randi(n, -50, 300)), e = stored(dt, randi(n, -50, 300));
    void* dout = out_buf(dt, n);
    nlc::select(static_cast<const uint8_t*>(dc), dt, upload(dt, t), upload(dt, e), dout, static_cast<int64_t>(n),
                nullptr);
    std::vector<double> want(n);
    for (size_t i = 0; i < n; i++) want[i] = c[i] == 1 ? t[i] : e[i];
    check(std::string("select ") + dname(dt), download(dt, dout, n), want);
  }
  // fill: the value as the typed array stores it
  const double vals[] = {-3.9, 4294967297.0, 257, kNaN, -0.0, 1.5};
  for (DType dt : all) {
    for (double v : vals) {
      void* dout = out_buf(dt, 37);
      nlc::fill(dout, 37, v, dt, nullptr);
      check(std::string("fill ") + dname(dt) + " " + std::to_string(v), download(dt, dout, 37),
            stored(dt, std::vector<double>(37, v)));
    }
  }
}

// Reference transpose of x (shape) by perm.
std::vector<double> transpose_ref(const std::vector<double>& x, const std::vector<int64_t>& sh,
                                  const std::vector<int>& perm) {
  const size_t r = sh.size();
  std::vector<int64_t> osh(r);
  for (size_t k = 0; k < r; k++) osh[k] = sh[perm[k]];
  const auto ist = strides_of(sh), ost = strides_of(osh);
  std::vector<double> o(x.size());
  for (int64_t i = 0; i < static_cast<int64_t>(x.size()); i++) {
    int64_t off = 0;
    for (size_t k = 0; k < r; k++) off += ((i / ost[k]) % osh[k]) * ist[perm[k]];
    o[static_cast<size_t>(i)] = x[static_cast<size_t>(off)];
  }
  return o;
}

void test_transpose() {
  struct Case { std::vector<int64_t> sh; std::vector<int> perm; DType dt; };
  const Case cases[] = {
      {{37, 45}, {1, 0}, DType::F32},
      {{70, 33}, {1, 0}, DType::U8},
      {{2, 5, 3, 4}, {0, 2, 1, 3}, DType::F32},   // head split: rows stay rows
      {{2, 5, 3, 4}, {0, 2, 3, 1}, DType::I32},
      {{3, 4, 5, 6}, {3, 2, 1, 0}, DType::F32},
      {{4, 33, 40}, {2, 0, 1}, DType::U8},
      {{2, 1, 35, 1, 3}, {4, 3, 2, 1, 0}, DType::F32},  // size-1 dims dropped
      {{3, 4, 5}, {0, 1, 2}, DType::I32},              // identity: a copy
      {{17}, {0}, DType::F32},
      {{1, 1}, {1, 0}, DType::F32},
      {{2, 3, 2, 3, 2, 3, 2, 2}, {7, 0, 6, 1, 5, 2, 4, 3}, DType::F32},  // rank 8
  };
  for (const Case& c : cases) {
    const int64_t n = numel(c.sh);
    const auto x = stored(c.dt, randi(static_cast<size_t>(n), -100, 200));
    void* dout = out_buf(c.dt, static_cast<size_t>(n));
    nlc::transpose(c.dt, upload(c.dt, x), dout, shape_of(c.sh), c.perm.data(), nullptr);
    std::string nm = std::string("transpose ") + dname(c.dt) + " [";
    for (auto d : c.sh) nm += std::to_string(d) + ",";
    nm.back() = ']';
    nm += " perm";
    for (int p : c.perm) nm += " " + std::to_string(p);
    check(nm, download(c.dt, dout, static_cast<size_t>(n)), transpose_ref(x, c.sh, c.perm));
  }
  nlc::transpose(DType::F32, nullptr, nullptr, shape_of({3, 0}), std::vector<int>{1, 0}.data(), nullptr);
}

void test_tile_slice_pad() {
  // tile
  struct TCase { std::vector<int64_t> sh, reps; DType dt; };
  const TCase tcs[] = {{{2, 3}, {2, 2}, DType::F32}, {{1, 3, 1}, {4, 1, 2}, DType::U8}, {{3, 1, 4}, {1, 5, 1}, DType::I32},
                       {{5}, {7}, DType::F32}, {{2, 2}, {1, 1}, DType::I32}};
  for (const TCase& c : tcs) {
    const auto x = stored(c.dt, randi(static_cast<size_t>(numel(c.sh)), -9, 99));
    std::vector<int64_t> osh(c.sh.size());
    for (size_t d = 0; d < c.sh.size(); d++) osh[d] = c.sh[d] * c.reps[d];
    const int64_t n = numel(osh);
    void* dout = out_buf(c.dt, static_cast<size_t>(n));
    nlc::tile(c.dt, upload(c.dt, x), dout, shape_of(c.sh), c.reps.data(), nullptr);
    const auto ost = strides_of(osh), ist = strides_of(c.sh);
    std::vector<double> want(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) {
      int64_t off = 0;
      for (size_t d = 0; d < osh.size(); d++) off += (((i / ost[d]) % osh[d]) % c.sh[d]) * ist[d];
      want[static_cast<size_t>(i)] = x[static_cast<size_t>(off)];
    }
    check(std::string("tile ") + dname(c.dt) + " rank " + std::to_string(c.sh.size()), download(c.dt, dout, n), want);
  }
  // slice
  struct SCase { std::vector<int64_t> sh, begin, size; DType dt; };
  const SCase scs[] = {{{4, 5, 6}, {1, 2, 0}, {2, 3, 6}, DType::F32}, {{4, 5, 6}, {0, 0, 1}, {4, 5, 4}, DType::U8},
                       {{7, 9}, {3, 0}, {4, 9}, DType::I32}, {{10}, {3}, {5}, DType::F32},
                       {{3, 1, 8}, {1, 0, 2}, {1, 1, 3}, DType::F32}};
  for (const SCase& c : scs) {
    const auto x = stored(c.dt, randi(static_cast<size_t>(numel(c.sh)), -9, 99));
    const int64_t n = numel(c.size);
    void* dout = out_buf(c.dt, static_cast<size_t>(n));
    nlc::slice(c.dt, upload(c.dt, x), dout, shape_of(c.sh), c.begin.data(), c.size.data(), nullptr);
    const auto ost = strides_of(c.size), ist = strides_of(c.sh);
    std::vector<double> want(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) {
      int64_t off = 0;
      for (size_t d = 0; d < c.sh.size(); d++) off += ((i / ost[d]) % c.size[d] + c.begin[d]) * ist[d];
      want[static_cast<size_t>(i)] = x[static_cast<size_t>(off)];
    }
    check(std::string("slice ") + dname(c.dt) + " rank " + std::to_string(c.sh.size()), download(c.dt, dout, n), want);
  }
  // pad
  struct PCase { std::vector<int64_t> sh, before, after; DType dt; double value; };
  const PCase pcs[] = {{{3, 4}, {1, 0}, {2, 3}, DType::F32, -1.5}, {{2, 3, 4}, {1, 0, 0}, {0, 0, 0}, DType::I32, 3.7},
                       {{2, 3, 4}, {0, 1, 0}, {1, 1, 0}, DType::U8, 1}, {{5}, {2}, {3}, DType::F32, -0.0},
                       {{2, 0}, {1, 1}, {1, 1}, DType::F32, 9}, {{3, 4}, {0, 0}, {0, 0}, DType::F32, 0}};
  for (const PCase& c : pcs) {
    const size_t r = c.sh.size();
    const auto x = stored(c.dt, randi(static_cast<size_t>(numel(c.sh)), -9, 99));
    std::vector<int64_t> osh(r);
    for (size_t d = 0; d < r; d++) osh[d] = c.before[d] + c.sh[d] + c.after[d];
    const int64_t n = numel(osh);
    void* dout = out_buf(c.dt, static_cast<size_t>(n));
    nlc::pad(c.dt, upload(c.dt, x), dout, shape_of(c.sh), c.before.data(), c.after.data(), c.value, nullptr);
    const auto ost = strides_of(osh), ist = strides_of(c.sh);
    std::vector<double> want(static_cast<size_t>(n), stored(c.dt, {c.value})[0]);
    for (int64_t i = 0; i < n; i++) {
      int64_t off = 0;
      bool in = true;
      for (size_t d = 0; d < r; d++) {
        const int64_t cc = (i / ost[d]) % osh[d] - c.before[d];
        in = in && cc >= 0 && cc < c.sh[d];
        off += cc * ist[d];
      }
      if (in) want[static_cast<size_t>(i)] = x[static_cast<size_t>(off)];
    }
    check(std::string("pad ") + dname(c.dt) + " rank " + std::to_string(r), download(c.dt, dout, n), want);
  }
}

void test_concat_split() {
  // slice / concat round trip along the last axis of [4, 10]: widths 3, 0, 7
  {
    const std::vector<int64_t> sh = {4, 10};
    const auto x = stored(DType::F32, randv(40, -5, 5));
    void* dx = upload(DType::F32, x);
    const int64_t widths[] = {3, 0, 7};
    std::vector<const void*> parts;
    int64_t col = 0;
    for (int64_t w : widths) {
      void* p = out_buf(DType::F32, static_cast<size_t>(4 * w));
      const std::vector<int64_t> b = {0, col}, s = {4, w};
      nlc::slice(DType::F32, dx, p, shape_of(sh), b.data(), s.data(), nullptr);
      parts.push_back(p);
      col += w;
    }
    void* dout = out_buf(DType::F32, 40);
    nlc::concat(DType::F32, parts.data(), widths, 3, dout, 4, nullptr);
    check("slice/concat round trip f32 [4,10]", download(DType::F32, dout, 40), x);
  }
  // 40 pieces (two launches of at most 32), some empty, split then concat
  for (DType dt : {DType::U8, DType::F32}) {
    const int k = 40;
    const int64_t outer = 3;
    std::vector<int64_t> widths(k);
    int64_t W = 0;
    for (int i = 0; i < k; i++) { widths[i] = (i * 7) % 5; W += widths[i]; }
    const auto x = stored(dt, randi(static_cast<size_t>(outer * W), 0, 250));
    std::vector<void*> outs(k);
    for (int i = 0; i < k; i++) outs[i] = out_buf(dt, static_cast<size_t>(outer * widths[i]));
    nlc::split(dt, upload(dt, x), outs.data(), widths.data(), k, outer, nullptr);
    bool ok = true;
    int64_t col = 0;
    for (int i = 0; i < k; i++) {
      const auto got = download(dt, outs[i], static_cast<size_t>(outer * widths[i]));
      for (int64_t r = 0; r < outer; r++)
        for (int64_t c = 0; c < widths[i]; c++) ok &= got[static_cast<size_t>(r * widths[i] + c)] == x[static_cast<size_t>(r * W + col + c)];
      col += widths[i];
    }
    check(std::string("split 40 pieces ") + dname(dt), {ok ? 1.0 : 0.0}, {1.0});
    void* dout = out_buf(dt, static_cast<size_t>(outer * W));
    std::vector<const void*> ins(outs.begin(), outs.end());
    nlc::concat(dt, ins.data(), widths.data(), k, dout, outer, nullptr);
    check(std::string("concat 40 pieces ") + dname(dt), download(dt, dout, static_cast<size_t>(outer * W)), x);
  }
}

void test_gather_onehot_range() {
  // gather: x (batch, outer, dim, slice), indices (batch, n); out-of-range rows are zeros
  struct GCase { int64_t batch, outer, dim, slice, n; DType dt; };
  const GCase gcs[] = {{2, 3, 5, 4, 6, DType::F32}, {1, 1, 10, 1, 13, DType::I32}, {1, 2, 4, 300, 3, DType::F32},
                       {2, 1, 3, 70, 2, DType::U8}};
  for (const GCase& c : gcs) {
    const auto x = stored(c.dt, randi(static_cast<size_t>(c.batch * c.outer * c.dim * c.slice), 1, 200));
    std::vector<double> idx = randi(static_cast<size_t>(c.batch * c.n), 0, static_cast<int>(c.dim) - 1);
    idx[0] = -1;
    idx[idx.size() - 1] = static_cast<double>(c.dim);
    const int64_t total = c.batch * c.outer * c.n * c.slice;
    void* dout = out_buf(c.dt, static_cast<size_t>(total));
    void* didx = upload(DType::I32, idx);
    nlc::gather(c.dt, upload(c.dt, x), static_cast<const int32_t*>(didx), dout, c.batch, c.outer, c.dim, c.slice,
                c.batch * c.n, nullptr);
    std::vector<double> want;
    for (int64_t b = 0; b < c.batch; b++)
      for (int64_t o = 0; o < c.outer; o++)
        for (int64_t i = 0; i < c.n; i++) {
          const int64_t k = static_cast<int64_t>(idx[static_cast<size_t>(b * c.n + i)]);
          for (int64_t s = 0; s < c.slice; s++)
            want.push_back(k < 0 || k >= c.dim ? 0.0 : x[static_cast<size_t>(((b * c.outer + o) * c.dim + k) * c.slice + s)]);
        }
    check(std::string("gather ") + dname(c.dt) + " slice " + std::to_string(c.slice), download(c.dt, dout, total), want);
    // the validity check finds the first bad index
    auto* flag = static_cast<unsigned long long*>(dmalloc(8));
    nlc::index_find_invalid(static_cast<const int32_t*>(didx), static_cast<int64_t>(idx.size()), c.dim, flag, nullptr);
    unsigned long long got = 0;
    NL_CUDA_CHECK(cudaMemcpy(&got, flag, 8, cudaMemcpyDeviceToHost));
    check("index_find_invalid", {static_cast<double>(got)}, {0.0});
  }
  {
    const std::vector<double> idx = {0, 1, 2, 3};
    void* didx = upload(DType::I32, idx);
    auto* flag = static_cast<unsigned long long*>(dmalloc(8));
    nlc::index_find_invalid(static_cast<const int32_t*>(didx), 4, 4, flag, nullptr);
    unsigned long long got = 0;
    NL_CUDA_CHECK(cudaMemcpy(&got, flag, 8, cudaMemcpyDeviceToHost));
    check("index_find_invalid none", {got == ~0ull ? 1.0 : 0.0}, {1.0});
  }
  // oneHot
  for (DType dt : {DType::I32, DType::F32, DType::U8}) {
    const std::vector<double> idx = {0, 4, -1, 5, 2, 2, 3};
    const int64_t depth = 5;
    const double on = dt == DType::U8 ? 1 : 5.5, off = dt == DType::U8 ? 0 : -2;
    void* dout = out_buf(dt, idx.size() * depth);
    nlc::oneHot(static_cast<const int32_t*>(upload(DType::I32, idx)), dout, static_cast<int64_t>(idx.size()), depth, on,
                off, dt, nullptr);
    std::vector<double> want;
    for (double v : idx)
      for (int64_t j = 0; j < depth; j++) want.push_back(v == j ? on : off);
    check(std::string("oneHot ") + dname(dt), download(dt, dout, want.size()), stored(dt, want));
  }
  // range: the tfjs loop, each value stored before the next step
  struct RCase { int64_t n; double start, step; DType dt; };
  const RCase rcs[] = {{10, 3, 2, DType::I32},     {6, -2.5, 1, DType::I32},           {7, 0, 0.5, DType::I32},
                       {5, 2147483640, 3, DType::I32}, {100, 0, 1, DType::F32},         {50, 0, 0.1, DType::F32},
                       {4, -0.0, 1, DType::F32},   {9, 10, -3, DType::F32},            {5, 16777215, 1, DType::F32},
                       {6, 0.5, 2, DType::F32},    {5, 1, 1, DType::U8}};
  for (const RCase& c : rcs) {
    void* dout = out_buf(c.dt, static_cast<size_t>(c.n));
    nlc::range(dout, c.n, c.start, c.step, c.dt, nullptr);
    std::vector<double> want(static_cast<size_t>(c.n));
    want[0] = stored(c.dt, {c.start})[0];
    for (size_t i = 1; i < want.size(); i++) want[i] = stored(c.dt, {want[i - 1] + c.step})[0];
    check(std::string("range ") + dname(c.dt) + " start " + std::to_string(c.start) + " step " + std::to_string(c.step),
          download(c.dt, dout, static_cast<size_t>(c.n)), want);
  }
}

// Reference reduction of one row (native/kernels/reduce.cc, tfjs' order).
double reduce_ref(int op, const std::vector<double>& x, size_t off, size_t n) {
  using namespace nlc;
  if (n == 0) return (op == kRMax || op == kRMin) ? kNaN : 0.0;
  if (op == kSum || op == kMean) {
    double acc = 0;
    for (size_t j = 0; j < n; j++)
      acc += op == kMean ? static_cast<double>(static_cast<float>(x[off + j]) / static_cast<float>(n)) : x[off + j];
    return acc;
  }
  double best = x[off];
  size_t bi = 0;
  for (size_t j = 0; j < n; j++) {
    const double v = x[off + j];
    const bool better = op == kRMax ? (v != v || v > best) : op == kRMin ? (v != v || v < best)
                                                                           : op == kArgMax ? v > best : v < best;
    if (better) { best = v; bi = j; }
  }
  return (op == kArgMax || op == kArgMin) ? static_cast<double>(bi) : best;
}

void reduce_case(const std::string& what, int op, DType xdt, int64_t outer, int64_t inner, const std::vector<double>& xv,
                 double tol) {
  const auto x = stored(xdt, xv);
  const DType odt = nlc::reduce_out_dtype(op, xdt);
  void* dx = upload(xdt, x);
  const size_t ws = nlc::reduce_workspace_bytes(outer, inner);
  float* w = ws ? static_cast<float*>(dmalloc(ws)) : nullptr;
  void* dout = out_buf(odt, static_cast<size_t>(outer));
  nlc::reduce(op, xdt, dx, dout, w, outer, inner, nullptr);
  const auto got = download(odt, dout, static_cast<size_t>(outer));
  std::vector<double> want(static_cast<size_t>(outer));
  for (int64_t r = 0; r < outer; r++) want[static_cast<size_t>(r)] = reduce_ref(op, x, static_cast<size_t>(r * inner), static_cast<size_t>(inner));
  const char* names[] = {"sum", "mean", "max", "min", "argMax", "argMin"};
  check("reduce " + std::string(names[op]) + " " + dname(xdt) + " " + what + " (" + std::to_string(outer) + "," +
            std::to_string(inner) + ")" + (ws ? " split" : ""),
        got, stored(odt, want), tol);
  // run again: same bits
  void* dout2 = out_buf(odt, static_cast<size_t>(outer));
  nlc::reduce(op, xdt, dx, dout2, w, outer, inner, nullptr);
  const auto again = download(odt, dout2, static_cast<size_t>(outer));
  bool same = true;
  for (size_t i = 0; i < got.size(); i++) same &= std::memcmp(&got[i], &again[i], sizeof(double)) == 0;
  if (!same) { std::printf("FAIL reduce %s not deterministic\n", what.c_str()); failures++; }
}

void test_reduce() {
  using namespace nlc;
  struct Sz { int64_t outer, inner; };
  const Sz sizes[] = {{1, 100000}, {1000, 7}, {37, 1500}, {3, 20000}, {300, 1}, {2, 1025}};
  for (const Sz& s : sizes) {
    const auto x = randv(static_cast<size_t>(s.outer * s.inner), -10, 10);
    for (int op = kSum; op <= kArgMin; op++) {
      reduce_case("rand", op, DType::F32, s.outer, s.inner, x, op <= kMean ? 1e-6 : 0);
    }
  }
  // int32: sums wrap as an Int32Array store; max/min; argmax ties (first index)
  {
    std::vector<double> x = {2147483647, 1, 5, -3, 5, 5, 0, 0, 0, -7, -7, 2};
    for (int op = kSum; op <= kArgMin; op++) reduce_case("ties", op, DType::I32, 3, 4, x, op == kMean ? 1e-6 : 0);
    const auto xi = randi(20000 * 3, -1000, 1000);
    for (int op : {kSum, kRMax, kArgMin}) reduce_case("rand", op, DType::I32, 3, 20000, xi, 0);
  }
  // bool: sum to int32, max, argmax
  {
    const auto b = randi(50 * 33, 0, 1);
    for (int op : {kSum, kMean, kRMax, kArgMax}) reduce_case("rand", op, DType::U8, 50, 33, b, op == kMean ? 1e-6 : 0);
  }
  // NaN and -0: max/min NaN-propagating, first of equal values; arg ignores NaN unless it is first
  {
    std::vector<double> x = {
        kNaN, 1, 2, 3, 0,        // NaN first
        1, kNaN, 5, 3, 0,        // NaN inside
        -0.0, 0.0, -1, -2, -3,   // -0 first
        0.0, -0.0, -1, -2, -3,   // 0 first
        -1, 0.0, -0.0, 0.0, -5,  // ties at 0
        kNaN, kNaN, kNaN, kNaN, kNaN,
        4, 4, 4, 4, 4,           // all equal
    };
    for (int op = kSum; op <= kArgMin; op++) reduce_case("NaN/-0", op, DType::F32, 7, 5, x, op <= kMean ? 1e-6 : 0);
    // zeros of both signs owned by different threads of a block-per-row reduction: the first wins
    std::vector<double> z = randv(2 * 2000, -9, -1);
    // (thread 5 owns 261, thread 44 owns 44: the lower thread holds the later index)
    z[261] = 0.0; z[44] = -0.0; z[2000 + 261] = -0.0; z[2000 + 44] = 0.0; z[2000 + 1999] = -0.0;
    for (int op = kRMax; op <= kArgMax; op++) if (op != kRMin) reduce_case("+-0 ties", op, DType::F32, 2, 2000, z, 0);
    for (auto& v : z) v = -v;
    for (int op = kRMin; op <= kArgMin; op++) if (op != kArgMax) reduce_case("+-0 ties", op, DType::F32, 2, 2000, z, 0);
    // the same patterns across the chunks of a split row
    std::vector<double> big = randv(30000, -1, 1);
    big[0] = -0.0; big[9000] = 5; big[21000] = 5; big[25000] = -5; big[4000] = -5;
    for (int op = kRMax; op <= kArgMin; op++) reduce_case("ties split", op, DType::F32, 1, 30000, big, 0);
    big[17000] = kNaN;
    for (int op = kRMax; op <= kArgMin; op++) reduce_case("NaN split", op, DType::F32, 1, 30000, big, 0);
  }
  // empty rows and no rows
  for (int op = kSum; op <= kArgMin; op++) reduce_case("empty", op, DType::F32, 5, 0, {}, 0);
  nlc::reduce(kSum, DType::F32, nullptr, nullptr, nullptr, 0, 5, nullptr);
}

void test_softmax() {
  struct Sz { int64_t rows, cols; };
  const Sz sizes[] = {{5, 7}, {3, 1500}, {20, 1024}, {1, 1}};
  for (const Sz& s : sizes) {
    auto x = stored(DType::F32, randv(static_cast<size_t>(s.rows * s.cols), -8, 8));
    if (s.cols > 3) { x[1] = -kInf; x[2] = 30; }
    void* dout = out_buf(DType::F32, x.size());
    nlc::softmax_rows(static_cast<float*>(dout), static_cast<const float*>(upload(DType::F32, x)), s.rows, s.cols,
                      nullptr);
    std::vector<double> want(x.size());
    for (int64_t r = 0; r < s.rows; r++) {
      double mx = -kInf, sum = 0;
      for (int64_t j = 0; j < s.cols; j++) mx = std::max(mx, x[static_cast<size_t>(r * s.cols + j)]);
      for (int64_t j = 0; j < s.cols; j++) sum += std::exp(x[static_cast<size_t>(r * s.cols + j)] - mx);
      for (int64_t j = 0; j < s.cols; j++) want[static_cast<size_t>(r * s.cols + j)] = std::exp(x[static_cast<size_t>(r * s.cols + j)] - mx) / sum;
    }
    check("softmax (" + std::to_string(s.rows) + "," + std::to_string(s.cols) + ")", download(DType::F32, dout, x.size()),
          want, 1e-5);
  }
  // a NaN poisons its row only; an all -inf row is NaN (exp(-inf - -inf))
  std::vector<double> x = {1, kNaN, 2, 0, -kInf, -kInf, -kInf, -kInf, 1, 2, 3, 4};
  void* dout = out_buf(DType::F32, 12);
  nlc::softmax_rows(static_cast<float*>(dout), static_cast<const float*>(upload(DType::F32, x)), 3, 4, nullptr);
  const double e = std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0);
  check("softmax NaN / -inf rows", download(DType::F32, dout, 12),
        {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, std::exp(1.0) / e, std::exp(2.0) / e, std::exp(3.0) / e,
         std::exp(4.0) / e},
        1e-5);
}

}  // namespace

int main() {
  test_unary();
  test_binary();
  test_cast_select_fill();
  test_transpose();
  test_tile_slice_pad();
  test_concat_split();
  test_gather_onehot_range();
  test_reduce();
  test_softmax();
  NL_CUDA_CHECK(cudaDeviceSynchronize());
  for (void* p : allocs) cudaFree(p);
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}
