"""Model files: DVC 3-format content-addressed cache, pointer files, remotes and transfers."""
