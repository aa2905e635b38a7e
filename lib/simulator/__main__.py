"""`python -m lib.simulator [--port N] [--seed S] [--scale X] [fault options]`: serve until Ctrl-C."""

from __future__ import annotations

import argparse

from lib.simulator.faults import FaultConfig
from lib.simulator.server import serve


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m lib.simulator", description="Indigitall API simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--scale", type=float, default=1.0, help="volume multiplier")
    p.add_argument("--rate-429", type=float, default=0.0)
    p.add_argument("--retry-after", choices=["seconds", "http-date"], default="seconds")
    p.add_argument("--retry-after-s", type=int, default=1)
    p.add_argument("--rate-5xx", type=float, default=0.0)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--bandwidth-mbps", type=float, default=0.0, help="MB/s per response (0 = unlimited)")
    p.add_argument(
        "--bad-input", action="store_true", help="bad bytes and untypable values in chosen records"
    )
    a = p.parse_args(argv)
    faults = FaultConfig(
        rate_429=a.rate_429,
        retry_after=a.retry_after,
        retry_after_s=a.retry_after_s,
        rate_5xx=a.rate_5xx,
        latency_ms=a.latency_ms,
        drop_rate=a.drop_rate,
        seed=a.fault_seed,
        bandwidth_bps=int(a.bandwidth_mbps * 1_000_000),
        bad_input=a.bad_input,
    )
    serve(a.host, a.port, seed=a.seed, faults=faults if faults.active else None, scale=a.scale)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
