#!/usr/bin/env python3
"""Where the browser module's bytes are: code size grouped by crate path.

Usage: python3 benches/browser/wasm-breakdown.py [WASM] [DEPTH] [ROWS]

WASM defaults to the module cargo writes before wasm-bindgen
(target/wasm32-unknown-unknown/wasm-release/sipsimple_wasm.wasm, built by `cargo xtask
build-web`), which still has its `name` section. DEPTH is how many path segments make a group
(2: `sipsimple::msrp`). wasm-bindgen later drops the `describe` functions (listed as
`wasm_bindgen::describe` and `*describe*` here) and the name section.
"""

import collections
import re
import sys


def leb(data, p):
    """An unsigned LEB128 at p: (value, next position)."""
    result = shift = 0
    while True:
        b = data[p]
        p += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, p


def read_module(data):
    """(function names by index, [(function index, body size)])."""
    pos, names, bodies, imported = 8, {}, [], 0
    while pos < len(data):
        sid = data[pos]
        size, pos = leb(data, pos + 1)
        end = pos + size
        if sid == 0:  # custom: the name section has the function names (subsection 1)
            nl, p = leb(data, pos)
            if data[p:p + nl] == b"name":
                p += nl
                while p < end:
                    sub = data[p]
                    ss, p = leb(data, p + 1)
                    if sub == 1:
                        q = p
                        count, q = leb(data, q)
                        for _ in range(count):
                            idx, q = leb(data, q)
                            ln, q = leb(data, q)
                            names[idx] = data[q:q + ln].decode("utf8", "replace")
                            q += ln
                    p += ss
        elif sid == 2:  # imports: function imports come first in the index space
            count, p = leb(data, pos)
            for _ in range(count):
                for _ in range(2):
                    ln, p = leb(data, p)
                    p += ln
                kind = data[p]
                p += 1
                if kind == 0:
                    _, p = leb(data, p)
                    imported += 1
                elif kind == 1:
                    p += 1
                    flags, p = leb(data, p)
                    _, p = leb(data, p)
                    if flags & 1:
                        _, p = leb(data, p)
                elif kind == 2:
                    flags, p = leb(data, p)
                    _, p = leb(data, p)
                    if flags & 1:
                        _, p = leb(data, p)
                elif kind == 3:
                    p += 2
        elif sid == 10:  # code
            count, p = leb(data, pos)
            for i in range(count):
                ln, p = leb(data, p)
                bodies.append((imported + i, ln))
                p += ln
        pos = end
    return names, bodies


def segments(name):
    """The path of a mangled name, without the hash."""
    if name.startswith("_ZN"):
        p, out = 3, []
        while p < len(name) and name[p].isdigit():
            digits = re.match(r"\d+", name[p:]).group()
            p += len(digits)
            out.append(name[p:p + int(digits)])
            p += int(digits)
        return [s for s in out if not (len(s) == 17 and s.startswith("h"))]
    if name.startswith("_R"):
        return re.findall(r"[a-z_][a-z0-9_]{2,}", name)[:3]
    return [name]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "target/wasm32-unknown-unknown/wasm-release/sipsimple_wasm.wasm"
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    with open(path, "rb") as f:
        names, bodies = read_module(f.read())
    if not names:
        sys.exit(f"{path} has no name section: use the module cargo writes, before wasm-bindgen")
    groups = collections.Counter()
    for idx, size in bodies:
        groups["::".join(segments(names.get(idx, "?"))[:depth])] += size
    print(f"code: {sum(groups.values())} bytes in {len(bodies)} functions")
    for key, size in groups.most_common(rows):
        print(f"{size:8} {key}")


if __name__ == "__main__":
    main()
