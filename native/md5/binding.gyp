{
  "targets": [
    {
      "target_name": "polymur_md5",
      "sources": ["md5.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
