{
  "targets": [
    {
      "target_name": "polymur_md5",
      "sources": ["md5.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "isal_gzip",
      "sources": ["isal-gzip.c"],
      "libraries": ["-lisal"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
