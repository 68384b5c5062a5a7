"""DuckDB's side of `npm run bench -- historical`, run in its own process by bench/historical.ts.

Reads one JSON object on stdin: {"setup": [sql, ...], "sample": sql, "timed": sql}. Runs the setup
statements (building the same tables the PostgreSQL side has, from the same formulas), answers the sample
query (checked value for value against the gateway's export), then runs the timed statement once and
prints {"version", "seconds", "sample": [[...], ...]} as JSON on stdout.
"""

import json
import sys
import time

import duckdb


def main() -> None:
    job = json.load(sys.stdin)
    con = duckdb.connect(":memory:")
    for statement in job["setup"]:
        con.execute(statement)
    sample = con.execute(job["sample"]).fetchall()
    started = time.perf_counter()
    con.execute(job["timed"])
    seconds = time.perf_counter() - started
    json.dump({"version": duckdb.__version__, "seconds": seconds, "sample": [list(map(plain, row)) for row in sample]}, sys.stdout)


def plain(value):
    return value if value is None or isinstance(value, (int, float, str, bool)) else str(value)


if __name__ == "__main__":
    main()
