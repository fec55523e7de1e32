"""``inverse_sqrt(x)``: :math:`1 / \\sqrt{x}`, for the AdaGrad step sizes :math:`\\eta / \\sqrt{G}`.

Compiled, for a float32 ``x`` on x86, it is the CPU's estimate (``rsqrtss``: relative error at most
:math:`1.5 \\cdot 2^{-12}`), the same approximation LibMF's AdaGrad steps use (``_mm_rsqrt_ps``): one
instruction where the full-precision reciprocal square root takes a refinement after it, on the path
from a rating's error to its update. A step size off by at most 0.04% changes no fit measurably (the
training RMSE of an ML-1M epoch moves in its sixth digit) and saves time on every AdaGrad step
(``benchmarks/engine_switch.py --switch estimated_steps``). The estimate differs between CPU makers,
so seeded float32 AdaGrad fits agree across machines to about that precision, not bit for bit. For
float64, on other CPUs and under ``NUMBA_DISABLE_JIT=1`` it is ``1 / sqrt(x)`` to full precision, in
``x``'s dtype.
"""

import platform

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")

if config.DISABLE_JIT:
    def inverse_sqrt(x):
        """Stand-in: ``1 / sqrt(x)`` in ``x``'s dtype."""
        return type(x)(1) / np.sqrt(x)
else:
    @intrinsic
    def inverse_sqrt(typingctx, x):
        if x not in (types.float32, types.float64):
            return None

        def codegen(context, builder, signature, args):
            value = args[0]
            if signature.args[0] == types.float32 and _X86:
                vector = ir.VectorType(ir.FloatType(), 4)
                estimate = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector]),
                                                          "llvm.x86.sse.rsqrt.ss")
                packed = builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.IntType(32)(0))
                return builder.extract_element(builder.call(estimate, [packed]), ir.IntType(32)(0))
            name = "llvm.sqrt.f32" if signature.args[0] == types.float32 else "llvm.sqrt.f64"
            sqrt = cgutils.get_or_insert_function(builder.module, ir.FunctionType(value.type, [value.type]), name)
            return builder.fdiv(ir.Constant(value.type, 1.0), builder.call(sqrt, [value]))

        return x(x), codegen
