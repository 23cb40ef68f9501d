// cuBLASLt by dlopen: see cublas_loader.h.
#include "cublas_loader.h"

#include <mutex>
#include <string>

// NL_CUBLAS_MOCK (tests of this loader and of matmul.cu's cuBLASLt calls on the emulator, against a
// stand-in libcublasLt.so.13 on LD_LIBRARY_PATH) keeps the real loader in an emulator build.
#if defined(NL_CUDA_EMU) && !defined(NL_CUBLAS_MOCK)
#define NL_CUBLAS_STUB 1
#endif

#ifndef NL_CUBLAS_STUB
#include <dlfcn.h>
#endif

namespace nlc {
namespace lt {
namespace {

std::mutex g_mutex;
bool g_tried = false;
const Api* g_api = nullptr;
std::string g_status = "not loaded";

#ifndef NL_CUBLAS_STUB

template <class F>
bool resolve(void* lib, const char* name, F& fn, std::string& missing) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
  return fn != nullptr;
}

// One soname: opens it and resolves every function; "" on success, else why not.
std::string try_load(const char* soname, Api& api, void*& lib, GetVersionFn& getVersion, CreateFn& create) {
  dlerror();
  lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();  // names the library already
    return e ? std::string(e) : std::string(soname) + ": dlopen failed";
  }
  std::string missing;
  resolve(lib, "cublasLtGetVersion", getVersion, missing);
  resolve(lib, "cublasLtCreate", create, missing);
  resolve(lib, "cublasLtMatmulDescCreate", api.matmulDescCreate, missing);
  resolve(lib, "cublasLtMatmulDescDestroy", api.matmulDescDestroy, missing);
  resolve(lib, "cublasLtMatmulDescSetAttribute", api.matmulDescSetAttribute, missing);
  resolve(lib, "cublasLtMatrixLayoutCreate", api.matrixLayoutCreate, missing);
  resolve(lib, "cublasLtMatrixLayoutDestroy", api.matrixLayoutDestroy, missing);
  resolve(lib, "cublasLtMatrixLayoutSetAttribute", api.matrixLayoutSetAttribute, missing);
  resolve(lib, "cublasLtMatmulPreferenceCreate", api.matmulPreferenceCreate, missing);
  resolve(lib, "cublasLtMatmulPreferenceDestroy", api.matmulPreferenceDestroy, missing);
  resolve(lib, "cublasLtMatmulPreferenceSetAttribute", api.matmulPreferenceSetAttribute, missing);
  resolve(lib, "cublasLtMatmulAlgoGetHeuristic", api.matmulAlgoGetHeuristic, missing);
  resolve(lib, "cublasLtMatmul", api.matmul, missing);
  if (!missing.empty()) {
    dlclose(lib);
    lib = nullptr;
    return std::string(soname) + ": missing " + missing;
  }
  return "";
}

const Api* do_load() {
  static Api api;
  const char* sonames[] = {"libcublasLt.so.13", "libcublasLt.so.12"};
  std::string why;
  for (const char* soname : sonames) {
    Api a;
    void* lib = nullptr;
    GetVersionFn getVersion = nullptr;
    CreateFn create = nullptr;
    const std::string err = try_load(soname, a, lib, getVersion, create);
    if (!err.empty()) {
      why += (why.empty() ? "" : "; ") + err;
      continue;
    }
    a.version = static_cast<int>(getVersion());  // CUBLAS_VERSION: major * 10000 + minor * 100 + patch
    const std::string version = std::to_string(a.version / 10000) + "." + std::to_string(a.version / 100 % 100) + "." +
                                std::to_string(a.version % 100);
    const std::string found = "cuBLASLt " + version + " (" + soname + ")";
    const Status s = create(&a.handle);
    if (s != STATUS_SUCCESS) {  // loads but cannot run here (no device, a driver too old for it)
      why += (why.empty() ? "" : "; ") + found + ": cublasLtCreate failed: " + status_string(s);
      continue;
    }
    void* ws = nullptr;
    const cudaError_t e = cudaMalloc(&ws, kWorkspaceBytes);
    if (e != cudaSuccess) {
      cudaGetLastError();  // clear it, so the next launch check does not report it
      g_status = found + " found, but cudaMalloc of its " + std::to_string(kWorkspaceBytes >> 20) +
                 " MB workspace failed: " + cudaGetErrorString(e);
      return nullptr;
    }
    a.workspace = ws;
    a.workspace_bytes = kWorkspaceBytes;
    api = a;
    g_status = found + " loaded";
    return &api;
  }
  g_status = "cuBLASLt not available: " + why;
  return nullptr;
}

#endif  // NL_CUBLAS_STUB

}  // namespace

const Api* load() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_tried) {
    g_tried = true;
#ifdef NL_CUBLAS_STUB
    g_status = "emulator: cuBLAS not used";
    g_api = nullptr;
#else
    g_api = do_load();
#endif
  }
  return g_api;
}

const char* load_status() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_status.c_str();
}

std::string status_string(Status s) {
  const char* name = nullptr;
  switch (s) {  // cublasStatus_t (cublas_api.h)
    case 0: name = "CUBLAS_STATUS_SUCCESS"; break;
    case 1: name = "CUBLAS_STATUS_NOT_INITIALIZED"; break;
    case 3: name = "CUBLAS_STATUS_ALLOC_FAILED"; break;
    case 7: name = "CUBLAS_STATUS_INVALID_VALUE"; break;
    case 8: name = "CUBLAS_STATUS_ARCH_MISMATCH"; break;
    case 11: name = "CUBLAS_STATUS_MAPPING_ERROR"; break;
    case 13: name = "CUBLAS_STATUS_EXECUTION_FAILED"; break;
    case 14: name = "CUBLAS_STATUS_INTERNAL_ERROR"; break;
    case 15: name = "CUBLAS_STATUS_NOT_SUPPORTED"; break;
    case 16: name = "CUBLAS_STATUS_LICENSE_ERROR"; break;
    default: break;
  }
  return std::string(name ? name : "cuBLAS status") + " (" + std::to_string(s) + ")";
}

}  // namespace lt
}  // namespace nlc
