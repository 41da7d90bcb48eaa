"""Runs every benchmark and prints one table, plus the raw figures as JSON.

    python -m benchmarks [--quick]

--quick uses smaller sizes (a smoke run, not the figures the README quotes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
from typing import Any

from benchmarks import credits, inbound, outbound, scale, startup
from benchmarks.common import machine, peak_rss_mb


def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    raw: dict[str, Any] = {}
    raw["inbound"] = asyncio.run(inbound.run([50] if quick else [50, 500], 1 if quick else 3))
    raw["outbound"] = asyncio.run(outbound.run(200 if quick else 1000))
    raw["startup"] = asyncio.run(startup.run(1 if quick else 3))
    raw["credits"] = asyncio.run(credits.run(500 if quick else 5000, 10 if quick else 40, 3))
    if not quick:
        raw["scale"] = asyncio.run(scale.run(n=5000, groups=50, weeks=52, asks=3))
    raw["peak_rss_mb"] = round(peak_rss_mb(), 1)
    inb = raw["inbound"]["N=50"]
    rows = [
        ("inbound N=50: throughput vs echo bot", f"{inb['throughput_ratio']}x", ">= 0.7x"),
        ("inbound N=50: p99 answer time, best round", f"{inb['studybot']['p99_ms']} ms",
         "< 100 ms"),
        ("inbound N=50: p99 answer time, median round",
         f"{statistics.median(inb['studybot_p99_ms_all_rounds'])} ms", "< 100 ms"),
        (f"outbound: messages/s ({raw['outbound']['members']}, flood limits on)",
         f"{raw['outbound']['messages_per_second']}", ">= 27"),
        ("outbound: lost / duplicated",
         f"{raw['outbound']['lost']} / {raw['outbound']['duplicated']}", "0 / 0"),
        ("startup: ready", f"{raw['startup']['ready_seconds_best']} s", "< 3 s"),
        ("peak RSS of this process", f"{raw['peak_rss_mb']} MB", "< 250 MB"),
    ]
    if "scale" in raw:
        sc = raw["scale"]
        rows += [
            ("scale 5,000: HR digest with chart", f"{sc['digest_seconds_median']} s", "< 2 s"),
            ("scale 5,000: /credits", f"{sc['credits_seconds_median']} s", "< 1 s"),
            ("scale 5,000: /ranking", f"{sc['ranking_seconds_median']} s", "< 1 s"),
            ("scale 5,000: peak RSS answering", f"{sc['peak_rss_mb']} MB", "< 250 MB"),
            ("scale 5,000: first ledger sync", f"{sc['first_sync_seconds']} s", "—"),
            ("scale 5,000: first ledger sync peak RSS", f"{sc['first_sync_peak_rss_mb']} MB",
             "< 250 MB"),
            ("scale 5,000: HR digest messages", f"{sc['digest_messages']}", "—"),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"machine: {machine()}")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>14}  target {target}")
    print(json.dumps(raw, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
