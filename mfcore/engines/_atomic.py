"""Atomic flags for threads that hand blocks to each other inside compiled code.

``publish(flags, index, value)`` stores ``value`` into the int64 array ``flags`` at ``index`` with
release ordering: every write the thread made before it is visible to a thread that reads the value
back through ``observe(flags, index)`` (an acquire load). ``claim(flags, index, expected, value)``
swaps ``expected`` for ``value`` in one atomic step (compare-and-swap, acquire and release) and says
whether it did, so of several threads claiming the same flag exactly one wins. ``pause()`` is the CPU's spin-wait hint
(x86 ``pause``, ARM ``yield``, through LLVM's intrinsics; nothing elsewhere): it tells the core that
it is waiting, which frees its pipeline for a sibling hyperthread while a flag is polled.
Under ``NUMBA_DISABLE_JIT=1`` they are plain Python (the threads then hold the GIL between calls,
which orders them anyway).
"""

import platform

from llvmlite import ir
from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic

if config.DISABLE_JIT:
    def publish(flags, index, value):
        """Stand-in: a plain store."""
        flags[index] = value

    def observe(flags, index):
        """Stand-in: a plain load."""
        return flags[index]

    def claim(flags, index, expected, value):
        """Stand-in: a plain compare and store."""
        if flags[index] != expected:
            return False
        flags[index] = value
        return True

    def pause():
        """Stand-in: nothing."""
        return
else:
    def _pointer(context, builder, array_type, array, index, index_type):
        array = context.make_array(array_type)(context, builder, array)
        position = context.cast(builder, index, index_type, types.intp)
        return cgutils.get_item_pointer(context, builder, array_type, array, [position], wraparound=False)

    def _flags(array):
        return isinstance(array, types.Array) and array.ndim == 1 and array.dtype == types.int64

    @intrinsic
    def publish(typingctx, flags, index, value):
        if not (_flags(flags) and isinstance(index, types.Integer) and isinstance(value, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            pointer = _pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1])
            number = context.cast(builder, args[2], signature.args[2], types.int64)
            builder.store_atomic(number, pointer, "release", 8)
            return context.get_dummy_value()

        return types.void(flags, index, value), codegen

    @intrinsic
    def observe(typingctx, flags, index):
        if not (_flags(flags) and isinstance(index, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            pointer = _pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1])
            return builder.load_atomic(pointer, "acquire", 8)

        return types.int64(flags, index), codegen

    @intrinsic
    def claim(typingctx, flags, index, expected, value):
        if not (_flags(flags) and all(isinstance(t, types.Integer) for t in (index, expected, value))):
            return None

        def codegen(context, builder, signature, args):
            pointer = _pointer(context, builder, signature.args[0], args[0], args[1], signature.args[1])
            old = context.cast(builder, args[2], signature.args[2], types.int64)
            new = context.cast(builder, args[3], signature.args[3], types.int64)
            outcome = builder.cmpxchg(pointer, old, new, "acq_rel", "acquire")
            return builder.extract_value(outcome, 1)

        return types.boolean(flags, index, expected, value), codegen

    _X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")
    _ARM = platform.machine().lower() in ("aarch64", "arm64")

    @intrinsic
    def pause(typingctx):
        def codegen(context, builder, signature, args):
            if _X86:
                hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                                      "llvm.x86.sse2.pause")
                builder.call(hint, [])
            elif _ARM:
                hint = cgutils.get_or_insert_function(builder.module,
                                                      ir.FunctionType(ir.VoidType(), [ir.IntType(32)]),
                                                      "llvm.aarch64.hint")
                builder.call(hint, [ir.IntType(32)(1)])  # 1: YIELD
            return context.get_dummy_value()

        return types.void(), codegen
