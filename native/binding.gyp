# Built by native/build.mjs (npm install). Sources: every kernel file plus the packed sgemm and
# its thread pool. No -march: AVX-512 / AVX2 code is selected at run time (target_clones in the
# kernels, target attributes in the gemm), so one binary runs on any x86-64.
{
  "targets": [
    {
      "target_name": "nanolab_native",
      "sources": [
        "src/addon.cc",
        "src/gemm.cc",
        "src/gemm_avx2.cc",
        "src/gemm_avx512.cc",
        "src/gemm_amx.cc",
        "src/threadpool.cc",
        "<!@(node -p \"require('fs').readdirSync('kernels').filter(f => f.endsWith('.cc')).map(f => 'kernels/' + f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NANOLAB_NATIVE_VERSION=\"<!(node -p \"require('../package.json').version\")\""
      ],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-O2", "-O0"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-fvisibility=hidden", "-pthread"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-fvisibility=hidden",
                    "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CPLUSPLUSFLAGS": ["-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/O2", "/std:c++17"] } }
    }
  ]
}
