#!/usr/bin/env python3
"""Side-by-side benchmark: a floor axum server, hookmock and Stoplight Prism, in one run.

Run it with `bash benches/compare.sh` (which builds and installs what it needs, then calls this).

Every figure is measured in this run, on this machine, against the same load (oha, 50
connections, 10 s after a 2 s warm-up, each case twice with the servers' order alternated), so
the ratios mean something even on a shared, noisy machine. Only loopback traffic; every loop is
bounded. Sections:

  compare   the five cases of the issue, floor / hookmock / Prism
  runtime   one document served two ways: bundled (compiled, vendor module) and at run time
            (`hookmock mock openapi/fieldnation.json`, the generic engine), Prism beside them:
            Field Nation's list and its create
  load      a 2.5 MB OpenAPI 3.1 document with 250 operations (benches/big_document.py):
            spawn of `hookmock mock` to its first 200, and RSS, beside a small document's
  startup   spawn to first 200, and idle RSS (hookmock, 10 starts)
  million   1,000,000 requests (half valid lists, half invalid POSTs) and the RSS after them
  scale     100,000 webhooks in one tenant; 10,000 tenants: list-page latency and RSS
  delivery  `cargo bench --bench delivery` and `--bench recorder` (their own same-run floors)

Prints Markdown; `--out FILE` also writes it there.
"""

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOOKMOCK = ROOT / "target/release/hookmock"
FIXTURES = ROOT / "fixtures"
CREATE_BODY = FIXTURES / "requests/fieldnation-create-webhook.json"


class Case:
    def __init__(self, name, document, method, path, headers, body=None, status=200):
        self.name, self.document, self.method, self.path = name, document, method, path
        self.headers, self.body, self.status = headers, body, status


FN = {"Authorization": "Bearer bench-token"}
JSON = {"Content-Type": "application/json"}
CASES = [
    Case("Field Nation GET /api/v1/webhooks (fixtures)", "fieldnation", "GET",
         "/api/v1/webhooks", FN),
    Case("Field Nation POST /api/v1/webhooks (valid, stored)", "fieldnation", "POST",
         "/api/v1/webhooks", {**FN, **JSON}, CREATE_BODY.read_text()),
    Case("Field Nation POST /api/v1/webhooks (invalid: `events: []`)", "fieldnation", "POST",
         "/api/v1/webhooks", {**FN, **JSON},
         json.dumps({"url": "https://hooks.example.com/fn", "events": []}), status=400),
    Case("Ingedata GET list `page[size]=50&sort=-created_at&filter[name]=QA`", "ingedata", "GET",
         "/api/v3/notification/webhooks?page[size]=50&sort=-created_at&filter[name]=QA",
         {"Authorization": "Bearer bench-token"}),
    Case("Patchworks GET /api/v1/flows/12/webhooks?per_page=10", "patchworks", "GET",
         "/api/v1/flows/12/webhooks?per_page=10", {"Authorization": "bench-token"}),
]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def request(url, method="GET", headers=None, body=None, timeout=5):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Server:
    """A server process on a free loopback port; `startup_ms` is spawn to first 200."""

    def __init__(self, kind, argv, port, probe_path, probe_headers):
        self.kind, self.url = kind, f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = started + 60
        while time.perf_counter() < deadline:
            try:
                status, _ = request(self.url + probe_path, headers=probe_headers, timeout=1)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.002)
        else:
            self.stop()
            raise RuntimeError(f"{kind} did not answer 200 on {probe_path} within 60 s")
        self.startup_ms = (time.perf_counter() - started) * 1000

    def rss(self):
        return rss_mb(self.process.pid)

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind, tools, case, extra=()):
    port = free_port()
    if kind == "floor":
        argv = [tools["floor"], "--serve", str(port)]
    elif kind == "hookmock":
        argv = [str(HOOKMOCK), "serve", "--port", str(port), *extra]
    else:
        argv = [tools["prism"], "mock", "-p", str(port), "-h", "127.0.0.1", "-v", "silent",
                str(ROOT / f"openapi/{case.document}.json")]
    probe = CASES[0] if kind == "floor" else case
    path = probe.path if probe.method == "GET" else "/api/v1/webhooks"
    return Server(kind, argv, port, path, probe.headers)


def oha(tools, url, case, seconds, connections=50, requests=None, exact=True):
    """oha's figures. `exact`: any status but the case's is unexpected (hookmock); otherwise
    only 5xx and connection errors are (the floor echoes everything, Prism has its own codes)."""
    argv = [tools["oha"], "--no-tui", "--output-format", "json", "-c", str(connections),
            "-m", case.method]
    argv += ["-n", str(requests)] if requests else ["-z", f"{seconds}s"]
    for name, value in case.headers.items():
        argv += ["-H", f"{name}: {value}"]
    if case.body is not None:
        argv += ["-d", case.body]
    out = subprocess.run(argv + [url + case.path], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    codes = result.get("statusCodeDistribution", {})
    wrong = {code: n for code, n in codes.items()
             if (int(code) != case.status if exact else int(code) >= 500)}
    # oha cuts the requests still in flight when the time is up; those are not failures.
    errors = {e: n for e, n in result.get("errorDistribution", {}).items()
              if "deadline" not in e}
    return {
        "rps": result["summary"]["requestsPerSec"],
        "p50": result["latencyPercentiles"]["p50"] * 1000,
        "p99": result["latencyPercentiles"]["p99"] * 1000,
        "unexpected": sum(wrong.values()) + sum(errors.values()),
        "codes": codes,
    }


def median(values):
    return statistics.median(values) if values else float("nan")


def section_compare(tools, seconds, rounds):
    lines = ["## Side by side (50 connections, "
             f"{seconds} s after a 2 s warm-up, median of {rounds} alternating rounds)", "",
             "| case | server | req/s | p50 ms | p99 ms | RSS MB | start-up ms | unexpected |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    ratios = ["", "| case | hookmock / floor | hookmock / Prism | target |", "|---|---:|---:|---|"]
    kinds = ["floor", "hookmock", "prism"]
    for case in CASES:
        runs = {kind: [] for kind in kinds}
        for round_ in range(rounds):
            for kind in (kinds if round_ % 2 == 0 else list(reversed(kinds))):
                server = start(kind, tools, case)
                try:
                    oha(tools, server.url, case, 2)
                    result = oha(tools, server.url, case, seconds, exact=kind == "hookmock")
                    result["rss"], result["startup"] = server.rss(), server.startup_ms
                    runs[kind].append(result)
                    log(f"{case.name} / {kind}: {result['rps']:.0f}/s p99 {result['p99']:.2f} ms "
                        f"codes {result['codes']}")
                finally:
                    server.stop()
        summary = {}
        for kind in kinds:
            got = runs[kind]
            summary[kind] = {k: median([r[k] for r in got])
                             for k in ("rps", "p50", "p99", "rss", "startup")}
            summary[kind]["unexpected"] = sum(r["unexpected"] for r in got)
            s = summary[kind]
            lines.append(f"| {case.name} | {kind} | {s['rps']:,.0f} | {s['p50']:.2f} | "
                         f"{s['p99']:.2f} | {s['rss']:.1f} | {s['startup']:.0f} | "
                         f"{s['unexpected']} |")
        hm = summary["hookmock"]["rps"]
        target = "≥ 0.35 × floor (POST echo)" if case.method == "POST" else "≥ 0.5 × floor"
        ratios.append(f"| {case.name} | {hm / summary['floor']['rps']:.2f} | "
                      f"{hm / summary['prism']['rps']:.1f} | {target}, ≥ 20 × Prism |")
    lines += ["", "The floor answers a GET with a fixed 566-byte JSON and echoes a POST's body "
              "with 201. `unexpected`: for hookmock, answers whose status was not the case's "
              "(200, or 400 for the invalid POST); for the others, 5xx answers; plus connection "
              "errors for all.", *ratios]
    return lines


def section_runtime(tools, seconds, rounds):
    """Field Nation's list and create, each from the bundled route and from a run-time one."""
    return [line for case in CASES[:2] for line in runtime_case(tools, case, seconds, rounds)]


def runtime_case(tools, case, seconds, rounds):
    """`case` of the same document, from the bundled route and from a run-time one."""
    kinds = ["bundled", "run-time", "prism"]
    runs = {kind: [] for kind in kinds}
    counted = start("hookmock", tools, CASES[0])
    try:
        _, body = request(counted.url + CASES[0].path, headers=CASES[0].headers)
        list_size = len(json.loads(body)["result"])
    finally:
        counted.stop()
    for round_ in range(rounds):
        for kind in (kinds if round_ % 2 == 0 else list(reversed(kinds))):
            if kind == "bundled":
                server = start("hookmock", tools, case)
            elif kind == "prism":
                server = start("prism", tools, case)
            else:
                port = free_port()
                argv = [str(HOOKMOCK), "mock", "--no-watch", "-p", str(port),
                        str(ROOT / "openapi/fieldnation.json")]
                server = Server(kind, argv, port, CASES[0].path, case.headers)
            try:
                if kind == "run-time":
                    # As many webhooks as the bundled fixtures give the tenant.
                    for _ in range(list_size):
                        request(server.url + CASES[0].path, "POST", {**FN, **JSON},
                                CREATE_BODY.read_text())
                oha(tools, server.url, case, 2)
                result = oha(tools, server.url, case, seconds, exact=kind != "prism")
                runs[kind].append(result)
                log(f"runtime / {case.method} / {kind}: {result['rps']:.0f}/s "
                    f"codes {result['codes']}")
            finally:
                server.stop()
    rps = {kind: median([r["rps"] for r in runs[kind]]) for kind in kinds}
    p99 = {kind: median([r["p99"] for r in runs[kind]]) for kind in kinds}
    lines = [f"## Run-time document vs bundled ({case.name}; 50 connections, {seconds} s, "
             f"median of {rounds} alternating rounds)", "",
             "| server | req/s | p99 ms | unexpected |", "|---|---:|---:|---:|"]
    for kind in kinds:
        unexpected = sum(r["unexpected"] for r in runs[kind])
        lines.append(f"| {kind} | {rps[kind]:,.0f} | {p99[kind]:.2f} | {unexpected} |")
    lines += ["", f"Run-time / bundled: **{rps['run-time'] / rps['bundled']:.2f}** (target ≥ 0.8); "
              f"run-time / Prism: {rps['run-time'] / rps['prism']:.1f}. The run-time server holds "
              f"{list_size} webhooks created through its API before the run, as many as the "
              "bundled fixtures hold.", ""]
    return lines


def section_load(runs=5):
    """Time to serve a large run-time document, and what holding it costs."""
    big = ROOT / "target/bench-big-document.json"
    subprocess.run([sys.executable, str(ROOT / "benches/big_document.py"), str(big),
                    "--operations", "250", "--size", "2500000"], check=True,
                   stdout=subprocess.DEVNULL)
    size_mb = big.stat().st_size / 1e6
    small = ROOT / "fixtures/specs/v3.0-petstore.yaml"
    figures = {"big": [], "small": []}
    for _ in range(runs):
        for name, document, path in (("big", big, "/resource7s"), ("small", small, "/pets")):
            port = free_port()
            argv = [str(HOOKMOCK), "mock", "--no-watch", "-p", str(port), str(document)]
            server = Server(name, argv, port, path, {})
            try:
                time.sleep(0.2)
                figures[name].append((server.startup_ms, server.rss()))
            finally:
                server.stop()
    start_ms = median([f[0] for f in figures["big"]])
    rss_big = median([f[1] for f in figures["big"]])
    rss_small = median([f[1] for f in figures["small"]])
    return [f"## A large run-time document (median of {runs} starts)", "",
            "| document | spawn to first 200 ms | RSS MB |", "|---|---:|---:|",
            f"| generated, {size_mb:.2f} MB, 250 operations, OpenAPI 3.1 | {start_ms:.0f} | "
            f"{rss_big:.1f} |",
            f"| v3.0-petstore.yaml (the idle figure) | "
            f"{median([f[0] for f in figures['small']]):.0f} | {rss_small:.1f} |", "",
            f"Targets: served within 1,000 ms ({start_ms:.0f}); RSS at most 3 × the document "
            f"({3 * size_mb:.1f} MB) above idle: {rss_big - rss_small:.1f} MB above "
            f"({(rss_big - rss_small) / size_mb:.1f} × the document)."]


def section_startup(runs=10):
    case = CASES[0]
    starts, rss = [], []
    for _ in range(runs):
        port = free_port()
        server = Server("hookmock", [str(HOOKMOCK), "serve", "--port", str(port)], port,
                        case.path, case.headers)
        starts.append(server.startup_ms)
        time.sleep(0.2)
        rss.append(server.rss())
        server.stop()
    return ["## Start-up and idle memory (hookmock, release, embedded fixtures)", "",
            f"Spawn to first 200 on `GET /api/v1/webhooks`, {runs} starts: median "
            f"{median(starts):.1f} ms, max {max(starts):.1f} ms (target ≤ 100 ms). "
            f"Idle RSS after that request: median {median(rss):.1f} MB (target ≤ 20 MB)."]


def section_million(tools):
    port = free_port()
    server = Server("hookmock", [str(HOOKMOCK), "serve", "--port", str(port)], port,
                    CASES[0].path, CASES[0].headers)
    try:
        before = server.rss()
        valid = oha(tools, server.url, CASES[0], 0, requests=500_000)
        invalid = oha(tools, server.url, CASES[2], 0, requests=500_000)
        after = server.rss()
        _, journal = request(server.url + "/__admin/requests?limit=1")
        _, violations = request(server.url + "/__admin/violations")
        journal, violations = json.loads(journal), json.loads(violations)
    finally:
        server.stop()
    return ["## 1,000,000 requests", "",
            "500,000 `GET /api/v1/webhooks` then 500,000 invalid POSTs (each one journaled and "
            "kept as a violation), 50 connections, default bounds (10,000 each):", "",
            f"- RSS {before:.1f} MB before, {after:.1f} MB after (target ≤ 100 MB).",
            f"- Request journal: {journal['recorded']:,} recorded, {journal['dropped']:,} dropped; "
            f"violations: {violations['recorded']:,} recorded, {violations['dropped']:,} dropped.",
            f"- Unexpected answers: {valid['unexpected'] + invalid['unexpected']}."]


def ingedata_state(tenants, per_tenant):
    """An `/__admin/state` document: `tenants` Ingedata tenants of `per_tenant` webhooks."""
    rng = random.Random(1)
    events = ["task.completed", "task.submitted", "task.reviewed", "project.completed"]

    def webhook(i):
        day = 1 + i % 28
        stamp = f"2025-{1 + i % 12:02d}-{day:02d}T{i % 24:02d}:{i % 60:02d}:{rng.randrange(60):02d}Z"
        return {"id": i, "name": f"Pipeline {i}", "url": f"https://hooks.example.com/in/{i}",
                "secret": f"whsec_{i:032d}", "events": rng.sample(events, 2), "scopes": {},
                "disabled": False, "created_at": stamp, "updated_at": stamp}

    items = lambda: {str(i): webhook(i) for i in range(1, per_tenant + 1)}
    shared = items()
    webhooks = {f"tenant-{t}": {"last_id": per_tenant, "items": shared if tenants > 1 else items()}
                for t in range(tenants)}
    return {"apis": {"ingedata": {"webhooks": webhooks}}}


def latencies(url, tokens, path, count):
    """Sequential keep-alive GETs, a random tenant each; (p50, p99) in ms, failures."""
    import http.client
    rng = random.Random(2)
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    times, failures = [], 0
    for _ in range(count):
        started = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": f"Bearer {rng.choice(tokens)}"})
        answer = conn.getresponse()
        answer.read()
        times.append((time.perf_counter() - started) * 1000)
        failures += answer.status != 200
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)], failures


def section_scale(tools):
    path = "/api/v3/notification/webhooks?page[size]=50&sort=-created_at"
    lines = ["## Scale (Ingedata list, page size 50, `sort=-created_at`)", "",
             "| store | load | p50 ms | p99 ms | req/s | RSS MB | unexpected |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for tenants, per_tenant, label in [(1, 100_000, "100,000 webhooks in one tenant"),
                                       (10_000, 10, "10,000 tenants × 10 webhooks")]:
        port = free_port()
        server = Server("hookmock", [str(HOOKMOCK), "serve", "--port", str(port),
                                     ], port, "/api/v1/webhooks",
                        CASES[0].headers)
        try:
            state = json.dumps(ingedata_state(tenants, per_tenant))
            status, answer = request(server.url + "/__admin/state", "PUT", JSON, state, timeout=120)
            assert status == 200, f"import: {status} {answer[:300]!r}"
            tokens = [f"tenant-{t}" for t in range(tenants)]
            p50, p99, failures = latencies(server.url, tokens, path, 2000)
            lines.append(f"| {label} | 1 client, sequential, random tenant | {p50:.2f} | "
                         f"{p99:.2f} | | {server.rss():.1f} | {failures} |")
            case = Case(label, "ingedata", "GET", path, {"Authorization": "Bearer tenant-0"})
            oha(tools, server.url, case, 2)
            loaded = oha(tools, server.url, case, 10)
            lines.append(f"| {label} | oha, 50 connections, 10 s | {loaded['p50']:.2f} | "
                         f"{loaded['p99']:.2f} | {loaded['rps']:,.0f} | {server.rss():.1f} | "
                         f"{loaded['unexpected']} |")
        finally:
            server.stop()
    lines += ["", "Targets: 100k in one tenant, p50 ≤ 1 ms and RSS ≤ 250 MB. The sequential "
              "client is Python's http.client (its own overhead is included)."]
    return lines


def section_delivery():
    lines = ["## Delivery and recording (their own same-run floors)", ""]
    for bench in ("delivery", "recorder"):
        out = subprocess.run(["cargo", "bench", "--locked", "--bench", bench], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        lines += [line for line in out.splitlines() if line.startswith("|")] + [""]
    lines.append("Targets: ≥ 5,000 signed deliveries/s; recorder ≥ 20,000 records/s with "
                 "`--fsync batch`.")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--oha", required=True)
    parser.add_argument("--prism", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", action="append",
                        choices=["compare", "runtime", "load", "startup", "million",
                                 "scale", "delivery"])
    parser.add_argument("--out")
    parser.add_argument("--command", default="bash benches/compare.sh")
    args = parser.parse_args()
    tools = {"oha": args.oha, "prism": args.prism, "floor": args.floor}
    sections = args.only or ["compare", "runtime", "load", "startup", "million", "scale",
                             "delivery"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "unknown CPU")
    report = [f"# hookmock benchmarks, {time.strftime('%Y-%m-%d')}", "",
              f"Machine: {os.cpu_count()} cores ({cpu}), "
              f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; "
              f"load generator on the same machine. Command: `{args.command}`.", ""]
    runners = {"compare": lambda: section_compare(tools, args.seconds, args.rounds),
               "runtime": lambda: section_runtime(tools, args.seconds, args.rounds),
               "load": section_load,
               "startup": section_startup, "million": lambda: section_million(tools),
               "scale": lambda: section_scale(tools), "delivery": section_delivery}
    for name in sections:
        log(f"== {name}")
        report += runners[name]() + [""]
    text = "\n".join(report)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
