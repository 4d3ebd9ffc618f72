{
  "targets": [
    {
      "target_name": "integrity_tags",
      "sources": ["src/binding.c", "src/hashes.c"],
      "cflags": ["-O3", "-std=gnu11", "-fvisibility=hidden", "-Wall", "-Wno-unused-function"],
      "cflags!": ["-O2", "-O0"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=gnu11"] },
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS=='linux'", { "libraries": ["-lpthread", "-ldl"] }]]
    }
  ]
}
