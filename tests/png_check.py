#!/usr/bin/env python3
"""png_check.py - read a PNG screenshot with zlib only (no imaging library).

  png_check.py FILE.png W H        check the size is W x H and the page is not blank:
                                   prints the share of pixels that differ from the
                                   most common (background) colour; exit 1 when the
                                   size is wrong or fewer than 2% differ
  png_check.py FILE.png --crop Y0 Y1 OUT.png   rows Y0..Y1 as a new PNG (to look at)

Handles what Chromium writes: 8-bit RGB or RGBA, not interlaced.
"""
import struct
import sys
import zlib


def read_png(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def write_png(path, w, bpp, rows):
    raw = b"".join(b"\x00" + r for r in rows)
    def chunk(k, b):
        return struct.pack(">I", len(b)) + k + b + struct.pack(">I", zlib.crc32(k + b) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, len(rows), 8, 2 if bpp == 3 else 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main(argv):
    w, h, bpp, rows = read_png(argv[1])
    if len(argv) == 6 and argv[2] == "--crop":
        write_png(argv[5], w, bpp, rows[int(argv[3]):int(argv[4])])
        return 0
    want_w, want_h = int(argv[2]), int(argv[3])
    counts = {}
    for r in rows[::4]:
        for x in range(0, w * bpp, bpp * 4):
            px = r[x:x + 3]
            counts[px] = counts.get(px, 0) + 1
    total = sum(counts.values())
    bg = max(counts.values())
    share = 1.0 - bg / total
    print("png_check: %dx%d, %d colours, %.1f%% of pixels not background" %
          (w, h, len(counts), 100 * share))
    if (w, h) != (want_w, want_h):
        print("png_check: size %dx%d, want %dx%d" % (w, h, want_w, want_h))
        return 1
    if share < 0.02 or len(counts) < 8:
        print("png_check: the page looks blank")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
