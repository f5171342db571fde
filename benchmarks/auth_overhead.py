"""Auth overhead benchmark: what verifying user tokens costs, next to the same calls without.

1. In-process, `TokenVerifier.verify` per second for RS256 and ES256 tokens:
   - fresh: a different token every call (full check: parse, signature, claims);
   - repeated: the same token (answered from the verified-token memory);
   - baseline: PyJWT's own `jwt.decode` of the same fresh tokens with the same key, in
     the same process: the library floor, so fresh/baseline is syncline's overhead
     on top of the signature check.
2. Over HTTP, against a `syncline serve` subprocess of benchmarks/apps/auth_bench
   whose `auth_config.py` names a custom JWT provider with this run's keys (a
   `data:` URI, so no key fetches): queries/s and p50/p99 of `calls:ping` with no
   Authorization header (the baseline), with `Bearer <RS256 token>`, with `Bearer
   <ES256 token>`, and of `calls:whoami` (which reads the identity) with a token,
   at concurrency 1 and 16. Each connection sends its own token on every request,
   as `ConvexHttpClient.setAuth` does. Rounds alternate the order; the table shows
   medians.

Usage: python benchmarks/auth_overhead.py [--rounds 3] [--seconds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import platform
import shutil
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from http_api import (  # the same server process handling and HTTP client as the HTTP benchmark
    RawConnection,
    ServerProcess,
    benchmark_workdir,
    check_envelope,
    cpu_model,
    http_load,
    report,
)
from sync_latency import SynclineServer, median_of

from syncline.auth import TokenVerifier, parse_providers

APP_DIR = Path(__file__).resolve().parent / "apps" / "auth_bench"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "auth_overhead.json"
ISSUER = "https://auth.bench.example"
AUDIENCE = "bench"
ALGORITHMS = ("RS256", "ES256")


class Keys:
    """One RS256 and one ES256 key, their JWKS, and tokens signed with them."""

    def __init__(self) -> None:
        self.private = {"RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                        "ES256": ec.generate_private_key(ec.SECP256R1())}
        self.jwks = {"keys": [self._public_jwk(alg) for alg in ALGORITHMS]}

    def _public_jwk(self, alg: str) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(alg)
        jwk = json.loads(algorithm.to_jwk(self.private[alg].public_key()))
        return {**jwk, "kid": alg.lower(), "alg": alg, "use": "sig"}

    def data_uri(self) -> str:
        return "data:application/json;base64," + base64.b64encode(
            json.dumps(self.jwks).encode()).decode()

    def providers(self) -> list[dict[str, Any]]:
        return [{"type": "customJwt", "issuer": ISSUER, "jwks": self.data_uri(),
                 "algorithm": alg, "application_id": AUDIENCE} for alg in ALGORITHMS]

    def mint(self, alg: str, subject: str) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": subject, "aud": AUDIENCE, "iat": now,
                  "exp": now + 3600, "name": subject.title(), "email": f"{subject}@x.test"}
        return jwt.encode(claims, self.private[alg], algorithm=alg, headers={"kid": alg.lower()})


# -- in-process --------------------------------------------------------------------------


async def verifier_rates(keys: Keys, count: int) -> dict[str, dict[str, float]]:
    """verify() per second: fresh tokens, one repeated token, and PyJWT's own decode."""
    out: dict[str, dict[str, float]] = {}
    for alg in ALGORITHMS:
        # One provider per algorithm: as in an app that configures one issuer.
        provider = [p for p in keys.providers() if p["algorithm"] == alg]
        verifier = TokenVerifier(parse_providers(provider))
        tokens = [keys.mint(alg, f"user{i}") for i in range(count)]
        public = keys.private[alg].public_key()

        start = time.perf_counter()
        for token in tokens:
            await verifier.verify(token)
        fresh = count / (time.perf_counter() - start)

        start = time.perf_counter()
        for _ in range(count):
            await verifier.verify(tokens[0])
        repeated = count / (time.perf_counter() - start)

        start = time.perf_counter()
        for token in tokens:
            jwt.decode(token, public, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
        baseline = count / (time.perf_counter() - start)
        out[alg] = {"fresh_per_s": fresh, "repeated_per_s": repeated,
                    "pyjwt_decode_per_s": baseline, "fresh_vs_pyjwt": fresh / baseline}
    return out


# -- over HTTP -----------------------------------------------------------------------------


class AuthServer(SynclineServer):
    """`syncline serve` of the auth_bench app, with this run's providers."""

    def __init__(self, workdir: Path, keys: Keys) -> None:
        base = workdir / "syncline"
        self.app = base / "app"
        shutil.copytree(APP_DIR / "convex", self.app / "convex",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (self.app / "convex" / "auth_config.py").write_text(
            f"providers = {keys.providers()!r}\n")
        cmd = [sys.executable, "-m", "syncline.cli.main", "serve", str(self.app),
               "--port", "0", "--site-port", "0", "--data-dir", str(base / "data")]
        ServerProcess.__init__(self, "syncline", cmd, "", base / "server.log")


CASES = {
    # name: (function, token algorithm or None)
    "no auth": ("calls:ping", None),
    "RS256 token": ("calls:ping", "RS256"),
    "ES256 token": ("calls:ping", "ES256"),
    "RS256, reads identity": ("calls:whoami", "RS256"),
}


async def measure_case(url: str, keys: Keys, case: str, concurrency: int, seconds: float,
                       warmup: float) -> dict[str, Any]:
    path, alg = CASES[case]
    host, port = url.removeprefix("http://").split(":")
    conns = []
    for i in range(concurrency):
        header = "" if alg is None else f"authorization: Bearer {keys.mint(alg, f'u{i}')}\r\n"
        conns.append(RawConnection(host, int(port), header))
    body = orjson.dumps({"path": path, "args": {}, "format": "json"})

    def make() -> tuple[str, str, bytes]:
        return "POST", "/api/query", body

    check = check_envelope(True)
    try:
        await http_load(conns, make, check, warmup)
        measured = await http_load(conns, make, check, seconds)
    finally:
        for conn in conns:
            await conn.close()
    return {"rate": measured.rate, "p50_ms": measured.percentile_ms(50),
            "p99_ms": measured.percentile_ms(99), "failures": dict(measured.failures)}


async def http_rates(url: str, keys: Keys, args: argparse.Namespace) -> dict[str, Any]:
    rounds: dict[tuple[str, int], list[dict[str, Any]]] = {}
    names = list(CASES)
    for round_no in range(args.rounds):
        order = names[round_no % len(names):] + names[:round_no % len(names)]
        for concurrency in args.concurrency:
            for case in order:
                rounds.setdefault((case, concurrency), []).append(await measure_case(
                    url, keys, case, concurrency, args.seconds, args.warmup))
    out: dict[str, Any] = {}
    for (case, concurrency), results in rounds.items():
        failures: dict[str, int] = {}
        for r in results:
            for k, v in r["failures"].items():
                failures[k] = failures.get(k, 0) + v
        out.setdefault(str(concurrency), {})[case] = {
            "queries_per_s": statistics.median(r["rate"] for r in results),
            "p50_ms": median_of([r["p50_ms"] for r in results]),
            "p99_ms": median_of([r["p99_ms"] for r in results]),
            "failures": failures,
        }
    for by_case in out.values():
        base = by_case["no auth"]["queries_per_s"]
        for figures in by_case.values():
            figures["vs_no_auth"] = figures["queries_per_s"] / base
    return out


def print_table(results: dict[str, Any]) -> None:
    print(f"\nAuth overhead ({results['machine']}; {results['rounds']} rounds, medians)\n")
    print("In-process verify() per second")
    print(f"{'':8} {'fresh token':>12} {'same token':>12} {'PyJWT decode':>13} "
          f"{'fresh/PyJWT':>12}")
    for alg, r in results["verifier"].items():
        print(f"{alg:8} {r['fresh_per_s']:>12,.0f} {r['repeated_per_s']:>12,.0f} "
              f"{r['pyjwt_decode_per_s']:>13,.0f} {r['fresh_vs_pyjwt']:>12.2f}")
    print("\nHTTP queries (syncline serve), per connection one token sent on every request")
    print(f"{'case':24} {'c':>3} {'queries/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'vs no auth':>10}")
    for concurrency, by_case in results["http"].items():
        for case, r in by_case.items():
            p50, p99 = (f"{v:>7.2f}" if v is not None else f"{'-':>7}"
                        for v in (r["p50_ms"], r["p99_ms"]))
            print(f"{case:24} {concurrency:>3} {r['queries_per_s']:>10,.0f} "
                  f"{p50} {p99} {r['vs_no_auth']:>10.2f}")
            for message, count in r["failures"].items():
                print(f"    {count:>6} x {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="per HTTP measurement")
    parser.add_argument("--warmup", type=float, default=0.3)
    parser.add_argument("--tokens", type=int, default=2000,
                        help="tokens per in-process measurement")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 16])
    parser.add_argument("--tmp-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None,
                        help=f"also write the results here (always: {DEFAULT_OUTPUT})")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    keys = Keys()
    results: dict[str, Any] = {
        "machine": f"{cpu_model()}, {platform.python_version()}", "rounds": args.rounds,
        "verifier": asyncio.run(verifier_rates(keys, args.tokens)),
    }
    started: list[Any] = []
    with benchmark_workdir("syncline-auth-bench-", args.tmp_dir, started) as workdir:
        server = AuthServer(workdir, keys)
        started.append(server)
        server.start()
        results["http"] = asyncio.run(http_rates(server.url, keys, args))
    report(results, print_table, DEFAULT_OUTPUT, args.json)


if __name__ == "__main__":
    main()
