// The kernels are `static inline` in the header so Swift inlines them at their call sites;
// this file makes the folder a C target.
#include "CKernels.h"
