{
  "targets": [
    {
      "target_name": "isal_gzip",
      "sources": ["isal-gzip.c"],
      "libraries": ["-lisal"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
