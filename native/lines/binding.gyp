{
  "targets": [
    {
      "target_name": "polymur_lines",
      "sources": ["lines.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
