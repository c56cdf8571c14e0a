"""Throughput of the JSON-RPC stream splitter on one big message.

Builds ~25 MB messages of three shapes (an OVSDB monitor reply with many
Logical_Switch_Port rows and strings full of escapes and braces; a few huge strings;
a long array of numbers), feeds each to ``pyovn.ovsdb.jsonrpc.Connection`` in 64 KiB
chunks and compares with one ``json.loads`` (and ``orjson.loads`` when installed) of
the whole message.  Also times a stream of many small messages.

The garbage collector is paused inside each timed run (after a full collection), as
its pauses grow with whatever else is alive and swamp the parse time; pass ``--gc``
to keep it running.

    python bench/jsonrpc_split.py [--mb 25] [--chunk 65536] [--repeat 3] [--gc]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import uuid
from collections.abc import Callable

from pyovn.ovsdb import jsonrpc


def big_reply(target_bytes: int) -> bytes:
    rows: dict[str, object] = {}
    size = i = 0
    while size < target_bytes:
        row = {
            "initial": {
                "name": f"lsp-{i}",
                "addresses": [
                    "set",
                    [f"fa:16:3e:00:{i // 256 % 256:02x}:{i % 256:02x} 10.0.{i % 250}.7"],
                ],
                "ports": [
                    "set",
                    [["uuid", str(uuid.UUID(int=i * 7919))], ["uuid", str(uuid.UUID(int=i))]],
                ],
                "external_ids": [
                    "map",
                    [["neutron:port_name", f"p{{{i}}}"], ["note", 'say "hi" \\ ok ü']],
                ],
                "tag": i % 4096,
                "up": True,
            }
        }
        key = str(uuid.UUID(int=i + 1))
        rows[key] = row
        size += len(json.dumps(row)) + 40
        i += 1
    msg = {"result": {"Logical_Switch_Port": rows}, "error": None, "id": 7}
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


def long_strings(target_bytes: int) -> bytes:
    line = 'log line with {braces} [brackets] \\ "quotes" and ü\n'
    text = line * (target_bytes // (2 * len(json.dumps(line))))
    msg = {"method": "update", "params": [None, {"Log": [text, text[::-1]]}], "id": None}
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


def numbers(target_bytes: int) -> bytes:
    values = [[i, -i * 7, i / 8] for i in range(target_bytes // 30)]
    return json.dumps({"result": values, "error": None, "id": 1}, separators=(",", ":")).encode()


GC = False


def best_of(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best time of each function, running them in turns so that load from other
    processes hits all of them alike."""
    times = {name: float("inf") for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            if not GC:
                gc.disable()
            try:
                start = time.perf_counter()
                fn()
                times[name] = min(times[name], time.perf_counter() - start)
            finally:
                gc.enable()
    return times


def split_with(chunks: list[bytes], use_orjson: bool) -> Callable[[], None]:
    def run() -> None:
        saved = jsonrpc._orjson
        if not use_orjson:
            jsonrpc._orjson = None
        try:
            split(chunks)
        finally:
            jsonrpc._orjson = saved

    return run


def split(chunks: list[bytes]) -> None:
    conn = jsonrpc.Connection()
    got = []
    for chunk in chunks:
        got += conn.receive_data(chunk)
    assert len(got) == 1 or len(got) > 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=25.0)
    parser.add_argument("--chunk", type=int, default=64 * 1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--gc", action="store_true", help="keep the GC on while timing")
    args = parser.parse_args()
    global GC
    GC = args.gc
    target = int(args.mb * 1_000_000)
    for name, build in (
        ("OVSDB rows", big_reply),
        ("long strings", long_strings),
        ("numbers", numbers),
    ):
        bench_one(name, build(target), args)
    small_messages(args)


def bench_one(name: str, data: bytes, args: argparse.Namespace) -> None:
    chunks = [data[i : i + args.chunk] for i in range(0, len(data), args.chunk)]
    mb = len(data) / 1e6
    print(f"{name}: {mb:.1f} MB in {len(chunks)} chunks of {args.chunk} bytes")
    fns: dict[str, Callable[[], object]] = {"json.loads, whole message": lambda: json.loads(data)}
    if jsonrpc._orjson is not None:
        fns["orjson.loads, whole message"] = lambda: jsonrpc._orjson.loads(data)
        fns["Connection (orjson), chunked"] = split_with(chunks, True)
    fns["Connection (stdlib json), chunked"] = split_with(chunks, False)
    times = best_of(fns, args.repeat)
    ref = times["json.loads, whole message"]
    for label, seconds in times.items():
        ratio = f"  ({seconds / ref:.2f}x json.loads)" if seconds is not ref else ""
        print(f"  {label:<38} {seconds * 1000:8.1f} ms  {mb / seconds:7.1f} MB/s{ratio}")


def small_messages(args: argparse.Namespace) -> None:
    small = jsonrpc.encode_many(
        jsonrpc.Request(
            "transact", ["OVN_Northbound", {"op": "insert", "table": "T", "row": {"n": i}}], i
        )
        for i in range(100_000)
    )
    small_chunks = [small[i : i + args.chunk] for i in range(0, len(small), args.chunk)]
    pieces = [jsonrpc.encode_message(jsonrpc.Request("echo", [i], i)) for i in range(100_000)]
    times = best_of(
        {"split": lambda: split(small_chunks), "loads": lambda: [json.loads(p) for p in pieces]},
        args.repeat,
    )
    secs = times["split"]
    print(
        f"small messages: 100000 requests, {len(small) / 1e6:.1f} MB in {len(small_chunks)} "
        f"chunks: {secs * 1000:.1f} ms, {100_000 / secs:,.0f} msg/s "
        f"(json.loads of 100000 tiny messages: {times['loads'] * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()
