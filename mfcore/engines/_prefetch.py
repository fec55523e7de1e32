"""``prefetch_row(M, r, n)``: ask the CPU to start loading the first ``n`` entries of row ``r`` of the
C-contiguous matrix ``M`` (``n`` = ``M.shape[1]``: the whole row).

SGD visits factor rows in a random order, so each rating's ``p_u`` and ``q_i`` usually miss the L1
and L2 caches; the per-rating work is short enough that the loads, not the arithmetic, set the speed.
Calling ``prefetch_row`` for the rows of a rating a few positions ahead lets those misses overlap with
the current rating's arithmetic. It is a hint: it changes no value and cannot fault (out-of-range
addresses are simply ignored by the hardware), so results are bit-identical with or without it.

Compiled, it emits LLVM's ``llvm.prefetch`` (write intent, keep in all cache levels) once per 64-byte
line of those entries. When ``n`` is a compile-time constant (the kernels compiled for their K) the
loop over the lines is unrolled into straight prefetch instructions: a loop over the row's byte
stride, known only at run time, cost about 30 instructions per rating. Under ``NUMBA_DISABLE_JIT=1``
it is a plain no-op function.
"""

from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

_CACHE_LINE = 64

if config.DISABLE_JIT:
    def prefetch_row(matrix, row, n_columns):
        """No-op stand-in when Numba compilation is disabled."""
        return
else:
    @intrinsic
    def prefetch_row(typingctx, matrix, row, n_columns):
        if not (isinstance(matrix, types.Array) and matrix.ndim == 2 and matrix.layout == "C"
                and isinstance(row, types.Integer) and isinstance(n_columns, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            matrix_type, row_type, columns_type = signature.args
            array = context.make_array(matrix_type)(context, builder, args[0])
            index = context.cast(builder, args[1], row_type, types.intp)
            zero = context.get_constant(types.intp, 0)
            start = cgutils.get_item_pointer(context, builder, matrix_type, array, [index, zero],
                                             wraparound=False)
            byte_pointer = ir.IntType(8).as_pointer()
            start = builder.bitcast(start, byte_pointer)
            int32 = ir.IntType(32)
            prefetch = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
                "llvm.prefetch.p0i8")
            columns = context.cast(builder, args[2], columns_type, types.intp)
            row_bytes = builder.mul(columns, context.get_constant(types.intp, matrix_type.dtype.bitwidth // 8))
            with cgutils.for_range_slice(builder, zero, row_bytes,
                                         context.get_constant(types.intp, _CACHE_LINE)) as (offset, _):
                builder.call(prefetch, [builder.gep(start, [offset]), int32(1), int32(3), int32(1)])
            return context.get_dummy_value()

        return types.void(matrix, row, n_columns), codegen
