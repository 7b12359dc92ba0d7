{
  "targets": [
    {
      "target_name": "polymur_tcp_diag",
      "sources": ["tcp-diag.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
