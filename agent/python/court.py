#!/usr/bin/env python3
"""A court on the Weituo zone, in Python: submits commissions, answers them.

    court.py --court dexing --endpoint tcp://127.0.0.1:5555 --db dexing.db \
        --key keys/dexing.key_secret --broker-key keys/broker.key \
        [--submit COMMISSION.json ...] [--answer HANDLER --result-file RESULT.json] \
        [--seconds N] [--queue-only]

--submit queues a commission (protobuf JSON of weituo.v1.Commission, as the
files in deploy/stories/) before serving; --answer accepts every commission
received, naming HANDLER, and completes it with the result in --result-file
(protobuf JSON of weituo.v1.Result). It prints a line for each thing it
records:
    submitted <id>
    connected to <broker version>
    commission <id> from <origin> <kind>
    event <id>#<seq> <type> <state>
"""

import argparse
import sys
import time

from google.protobuf import json_format

from weituo.v1 import commission_pb2
from weituo_agent import Agent


def say(*words):
    print(*words, flush=True)


def name(enum, value):
    """The value's name, or its number if this schema is older than the sender's."""
    try:
        return enum.Name(value)
    except ValueError:
        return str(value)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--court", required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--db", required=True, help="SQLite file: the agent's durable store")
    p.add_argument("--key", required=True, help="this court's .key_secret (weituoctl keygen)")
    p.add_argument("--broker-key", required=True, help="the broker's public broker.key")
    p.add_argument("--submit", action="append", default=[], metavar="COMMISSION.json")
    p.add_argument("--answer", metavar="HANDLER", help="accept and complete what arrives")
    p.add_argument("--result-file", metavar="RESULT.json")
    p.add_argument("--seconds", type=float, help="stop after this long (default: never)")
    p.add_argument("--queue-only", action="store_true",
                   help="queue the --submit files durably and exit; a running agent on the "
                        "same --db sends them")
    args = p.parse_args()
    if args.answer and not args.result_file:
        p.error("--answer needs --result-file")

    agent = Agent(args.court, args.endpoint, args.db, args.key, args.broker_key)
    for path in args.submit:
        commission = commission_pb2.Commission()
        with open(path, encoding="utf-8") as f:
            json_format.Parse(f.read(), commission)  # unknown fields: an error
        say("submitted", agent.submit(commission))
    if args.queue_only:
        return 0

    result = commission_pb2.Result()
    if args.result_file:
        with open(args.result_file, encoding="utf-8") as f:
            json_format.Parse(f.read(), result)

    def on_commission(c):
        say("commission", c.id, "from", c.origin_court, c.WhichOneof("payload"))
        if not args.answer:
            return
        # Request ids derived from the step: a re-run after a crash queues
        # nothing new (docs/protocol.md section 14, rule 5).
        accept = commission_pb2.Update(commission_id=c.id)
        accept.accept.handler = args.answer
        accept.accept.expected_date = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
        agent.send_update(accept, c.id + ".accept")
        complete = commission_pb2.Update(commission_id=c.id)
        complete.complete.result.CopyFrom(result)
        agent.send_update(complete, c.id + ".complete")

    def on_event(e):
        say(f"event {e.commission_id}#{e.seq}", name(commission_pb2.EventType, e.type),
            name(commission_pb2.State, e.state))

    try:
        agent.run(on_commission=on_commission, on_event=on_event,
                  on_welcome=lambda w: say("connected to", w.broker_version),
                  seconds=args.seconds)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
