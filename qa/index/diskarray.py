"""Reading parts of big index files without mapping them into the process.

A query reads a few rows of multi-hundred-megabyte files (article texts, sentence spans,
BM25 postings). Memory-mapping them looked free, but every page fault maps the whole page
cache folio around it (1–2 MB here), and the process kept it: at 1M chunks, 30 questions
grew it by ~1.4 GB of file pages it had read a few kilobytes of. `os.pread` copies only the
bytes asked for; the kernel's page cache still makes repeated reads fast.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np

from ..regular_files import open_regular


class PreadFile:
    """A read-only file sliced like bytes: `f[lo:hi]` returns those bytes (one pread)."""

    def __init__(self, path: Path, *, offset: int = 0, size: int | None = None) -> None:
        # A regular file, not through a link: what opening the index checked, still.
        self._fd = open_regular(path, follow_links=False)
        weakref.finalize(self, os.close, self._fd)
        self._offset = offset
        self._size = os.fstat(self._fd).st_size - offset if size is None else size

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, key: slice) -> bytes:
        lo, hi, step = key.indices(self._size)
        if step != 1:
            raise IndexError("only contiguous slices can be read")
        n = max(0, hi - lo)
        data = os.pread(self._fd, n, self._offset + lo)
        if len(data) != n:
            raise ValueError("short read: the file changed or was truncated")
        return data

    def read_into(self, out: memoryview, lo: int) -> None:
        """Fill `out` (a writable byte buffer) with the bytes from offset `lo` on, without an
        intermediate copy."""
        n = out.nbytes
        if lo < 0 or lo + n > self._size:
            raise IndexError("read past the end of the file")
        done = 0
        while done < n:  # preadv may return less than asked for large reads
            got = os.preadv(self._fd, [out[done:]], self._offset + lo + done)
            if got <= 0:
                raise ValueError("short read: the file changed or was truncated")
            done += got


class NpyRanges:
    """The rows of a `.npy` file (C order, any numeric dtype), read by contiguous range:
    `a[lo:hi]` returns a fresh array of those rows. Nothing else is supported."""

    def __init__(self, path: Path) -> None:
        with open(path, "rb") as fh:
            major, _minor = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if major == 1
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(fh)
            offset = fh.tell()
        if not shape or fortran or dtype.hasobject:
            raise ValueError(f"{path.name} is not a C-order numeric array")
        self.dtype = dtype
        self.shape = tuple(shape)
        self._row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        if os.stat(path).st_size < offset + shape[0] * self._row_bytes:
            raise ValueError(f"{path.name} is shorter than its header says")
        self._file = PreadFile(path, offset=offset, size=shape[0] * self._row_bytes)

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice):
            raise IndexError("only contiguous row ranges can be read")
        lo, hi, step = key.indices(len(self))
        if step != 1:
            raise IndexError("only contiguous row ranges can be read")
        hi = max(lo, hi)
        data = self._file[lo * self._row_bytes : hi * self._row_bytes]
        return np.frombuffer(data, dtype=self.dtype).reshape(hi - lo, *self.shape[1:])

    def read_into(self, out: np.ndarray, lo: int) -> None:
        """Fill `out` (C-contiguous, this dtype, rows of this shape) with rows lo, lo+1, …"""
        if out.dtype != self.dtype or not out.flags.c_contiguous or out.shape[1:] != self.shape[1:]:
            raise ValueError("the output array does not match the file's rows")
        if len(out):
            self._file.read_into(memoryview(out.data).cast("B"), lo * self._row_bytes)
