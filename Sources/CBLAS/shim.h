#pragma once
#include <cblas.h>
// OpenBLAS extensions (declared in Debian's cblas.h, repeated here so the shim documents what Loom uses):
// openblas_get_corename, openblas_get_num_threads, openblas_set_num_threads, openblas_get_config.
