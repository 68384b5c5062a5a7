"""Read a point-in-time-correct training set from Skewless into pandas, the way a training job would.

The rows stream from the gateway's export endpoint, by default as Parquet (typed columns: features as the
registry declares them, event_timestamp as a UTC timestamp), spooled to a temporary file and read with
pyarrow; or as JSON lines (--format jsonl), read in chunks. Each row is an entity row (keys,
event_timestamp, labels) with the feature values that were valid at its event_timestamp.

    python train.py --gateway http://127.0.0.1:4000 --service fraud_model_v1 \\
        --entity-sql "select user_id, event_timestamp, label from labels order by event_timestamp" \\
        --parquet train.parquet

--summary prints a JSON summary (rows, columns, per-column non-null counts and sums) instead of a
preview; the project's tests compare it with the gateway's own answer.
"""

import argparse
import json
import shutil
import sys
import tempfile
import urllib.request

import pandas as pd


def read_training_set(gateway: str, args: dict, fmt: str = "parquet") -> pd.DataFrame:
    request = urllib.request.Request(
        f"{gateway.rstrip('/')}/historical/export?format={fmt}",
        data=json.dumps(args).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        response = urllib.request.urlopen(request)
    except urllib.error.HTTPError as error:  # refusals come as JSON with a code, before any row
        detail = json.loads(error.read() or b"{}").get("error", {})
        sys.exit(f"export refused: {detail.get('code')}: {detail.get('message')}")
    with response:
        if fmt == "parquet":
            # Parquet's footer comes last: spool the stream to disk, then read the file.
            with tempfile.TemporaryFile() as spool:
                shutil.copyfileobj(response, spool, length=1 << 20)
                spool.seek(0)
                return pd.read_parquet(spool, engine="pyarrow")
        chunks = list(pd.read_json(response, lines=True, chunksize=50_000, dtype=False))
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateway", required=True, help="base URL of a Skewless gateway")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--service", help="a feature service, e.g. fraud_model_v1")
    what.add_argument("--features", help="comma-separated refs view:feature")
    rows = parser.add_mutually_exclusive_group(required=True)
    rows.add_argument("--entity-sql", help="a SELECT producing join keys, event_timestamp and labels")
    rows.add_argument("--entities", help="a JSON-lines file of entity rows")
    parser.add_argument("--as-known-at", action="store_true", help="only values written by each row's time")
    parser.add_argument("--format", choices=["parquet", "jsonl"], default="parquet", help="export format to read (default parquet)")
    parser.add_argument("--parquet", help="also write the training set to this Parquet file (pyarrow)")
    parser.add_argument("--summary", action="store_true", help="print a JSON summary instead of a preview")
    options = parser.parse_args()

    args: dict = {"asKnownAt": options.as_known_at}
    if options.service:
        args["service"] = options.service
    else:
        args["features"] = options.features.split(",")
    if options.entity_sql:
        args["entitySql"] = options.entity_sql
    else:
        with open(options.entities) as f:
            args["entities"] = [json.loads(line) for line in f if line.strip()]

    frame = read_training_set(options.gateway, args, options.format)
    if options.parquet:
        frame.to_parquet(options.parquet, engine="pyarrow", index=False)
    if options.summary:
        numeric = frame.select_dtypes("number")
        print(json.dumps({
            "rows": len(frame),
            "columns": list(frame.columns),
            "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
            "non_null": {c: int(frame[c].notna().sum()) for c in frame.columns},
            "sums": {c: float(numeric[c].sum()) for c in numeric.columns},
        }))
    else:
        print(frame.head(20).to_string())
        print(f"\n{len(frame)} rows × {len(frame.columns)} columns")


if __name__ == "__main__":
    main()
