#!/usr/bin/env python3
"""Answers an asset query (财产查询) from a court's local register.

A handler for weituo-agent's [handlers.ASSET_QUERY]: the commission arrives
as JSON on standard input; the answer goes to standard output as Updates in
protobuf's JSON mapping: progress, then complete with a typed AssetResult.
The register is a CSV file with the columns

    id_number,asset_class,description,institution,value_fen,frozen

where asset_class is DEPOSITS, REAL_ESTATE, VEHICLES, SECURITIES or
OTHER_ASSETS. Rows of the debtor's id number and of the asked classes (all
classes if the commission names none) make the result; none found is a
result too. Exit status 2 (and a message on standard error) for what it
cannot answer; the agent keeps the error in the inbox and retries.

    asset-register.py --register register.csv < commission.json
"""
import argparse
import csv
import json
import sys

CLASSES = ("DEPOSITS", "REAL_ESTATE", "VEHICLES", "SECURITIES", "OTHER_ASSETS")


def fail(message):
    print("asset-register: " + message, file=sys.stderr)
    sys.exit(2)


def read_register(path):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        fail("cannot read the register %s: %s" % (path, e.strerror))
    for n, row in enumerate(rows, start=2):
        if row.get("asset_class") not in CLASSES:
            fail("%s:%d: asset_class %r is not one of %s"
                 % (path, n, row.get("asset_class"), ", ".join(CLASSES)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--register", required=True, help="the CSV register")
    args = parser.parse_args()
    try:
        commission = json.load(sys.stdin)
    except ValueError as e:
        fail("the commission on standard input is not JSON: %s" % e)
    if "assetQuery" not in commission:
        fail("commission %s is not an asset query" % commission.get("id", "?"))
    id_number = commission.get("debtor", {}).get("idNumber", "")
    if not id_number:
        fail("commission %s names no debtor id number" % commission.get("id", "?"))
    asked = set(commission["assetQuery"].get("classes", [])) or set(CLASSES)
    found = []
    for row in read_register(args.register):
        if row["id_number"] != id_number or row["asset_class"] not in asked:
            continue
        asset = {"assetClass": row["asset_class"], "description": row["description"],
                 "institution": row["institution"]}
        if row.get("value_fen"):
            asset["valueFen"] = str(int(row["value_fen"]))
        if row.get("frozen", "").strip().lower() in ("1", "true", "yes"):
            asset["frozen"] = True
        found.append(asset)
    text = "searched the local register for %s: %d found" % (", ".join(sorted(asked)), len(found))
    answer = {"updates": [{"progress": {"text": text}},
                          {"complete": {"result": {"assets": {"assets": found}}}}]}
    json.dump(answer, sys.stdout, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
