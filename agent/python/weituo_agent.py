"""A Weituo court agent in Python: an example for integrators to copy.

It keeps the rules of docs/protocol.md section 14 with Debian's python3-zmq
and python3-protobuf, and the standard library's sqlite3 as its durable
store. One thread, one SQLite connection, one ZeroMQ DEALER socket over CURVE.

    agent = Agent("dexing", "tcp://127.0.0.1:5555", "dexing.db",
                  "keys/dexing.key_secret", "keys/broker.key")
    agent.submit(commission)                 # durable when it returns
    agent.run(on_commission=..., on_event=...)

Generate the protobuf modules first (agent/python/README.md):
    protoc -I proto --python_out=DIR proto/weituo/v1/*.proto
"""

import os
import sqlite3
import sys
import time

import zmq
from google.protobuf.message import DecodeError
from zmq.auth import load_certificate
from zmq.utils.monitor import recv_monitor_message

from weituo.v1 import commission_pb2, wire_pb2

PROTOCOL = 1
MAX_MESSAGE_BYTES = 128 * 1024  # section 13: a commission or update, encoded
HEARTBEAT_MS = 1000           # replaced by Welcome.heartbeat_ms
SILENCE_MS = 3500             # reconnect after this long without a word
HELLO_EVERY_MS = 200          # at most one Hello per 200 ms on NOT_IDENTIFIED
RESEND_FIRST_MS, RESEND_MAX_MS = 3000, 48000
# Refusals that say "try again": the entry stays in the outbox. By number,
# so that modules generated from an older schema know them too.
STORAGE_FULL, TOO_LARGE = 15, 11
RETRYABLE = {wire_pb2.UNAVAILABLE, wire_pb2.INTERNAL, wire_pb2.NOT_IDENTIFIED,
             wire_pb2.RATE_LIMITED, STORAGE_FULL}
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def name_of_code(code):
    """The error code's name, or its number if this schema is older than the broker's."""
    try:
        return wire_pb2.ErrorCode.Name(code)
    except ValueError:
        return str(code)


def now_ms():
    return int(time.monotonic() * 1000)


def new_ulid():
    """26 characters: 48 bits of Unix milliseconds, then 80 random bits."""
    n = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


class Agent:
    def __init__(self, court, endpoint, db_path, secret_key_file, broker_key_file,
                 version="weituo-python-agent 0.1"):
        self.court, self.endpoint, self.version = court, endpoint, version
        # The files `weituoctl keygen` writes: this court's pair and the
        # broker's public key. The secret must be the agent's alone.
        if os.stat(secret_key_file).st_mode & 0o077:
            raise PermissionError(f"{secret_key_file} may be read by others: chmod 600 it")
        self.public, self.secret = load_certificate(secret_key_file)
        if not self.secret:
            raise ValueError(f"{secret_key_file} holds no secret key (give the .key_secret file)")
        self.broker_public, _ = load_certificate(broker_key_file)

        self.db = sqlite3.connect(db_path, isolation_level=None)  # we BEGIN/COMMIT ourselves
        self.db.execute("PRAGMA synchronous=FULL")                 # fsync at each commit
        self.db.executescript("""
          CREATE TABLE IF NOT EXISTS outbox(
            ref TEXT PRIMARY KEY, seq INTEGER, envelope BLOB);
          CREATE TABLE IF NOT EXISTS commissions(
            id TEXT PRIMARY KEY, body BLOB, handled INTEGER DEFAULT 0);
          CREATE TABLE IF NOT EXISTS events(
            cid TEXT, seq INTEGER, type INTEGER, body BLOB, PRIMARY KEY(cid, seq));
          CREATE TABLE IF NOT EXISTS refusals(
            ref TEXT, code TEXT, message TEXT, at_ms INTEGER);""")
        self.ctx, self.sock = zmq.Context(), None
        self.heartbeat_ms = HEARTBEAT_MS
        self.max_frame_bytes = 0  # from Welcome.max_frame_bytes; 0: not announced
        self.last_hello = 0

    # -- What the court's system calls. Each returns once it is on disk.

    def submit(self, commission):
        """Queues a commission; fills in its id and origin if empty. Returns the id."""
        if not commission.id:
            commission.id = new_ulid()
        if not commission.origin_court:
            commission.origin_court = self.court
        if not commission.created_at_ms:
            commission.created_at_ms = int(time.time() * 1000)
        env = wire_pb2.Envelope()
        env.submit.commission.CopyFrom(commission)
        self._queue(commission.id, env)
        return commission.id

    def send_update(self, update, request_id=None):
        """Queues an update. Derive request_id from the step (`<id>.accept`) so
        that asking twice queues once (rule 5). Returns the request id."""
        request_id = request_id or new_ulid()
        env = wire_pb2.Envelope()
        env.send_update.request_id = request_id
        env.send_update.update.CopyFrom(update)
        self._queue(request_id, env)
        return request_id

    def state(self, commission_id):
        """The commission's state, from its event with the highest seq (rule 4)."""
        row = self.db.execute("SELECT body FROM events WHERE cid = ? ORDER BY seq DESC LIMIT 1",
                              (commission_id,)).fetchone()
        if row is None:
            return None
        event = commission_pb2.Event()
        event.ParseFromString(row[0])
        return event.state

    def pending(self):
        """Refs (commission ids, request ids) not yet receipted."""
        return [r for (r,) in self.db.execute("SELECT ref FROM outbox ORDER BY seq")]

    def _queue(self, ref, env):
        env.protocol = PROTOCOL
        raw = env.SerializeToString()
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ValueError(f"{ref}: {len(raw)} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")
        if self.max_frame_bytes and len(raw) > self.max_frame_bytes:
            raise ValueError(f"{ref}: {len(raw)} bytes in its frame, over the broker's limit of "
                             f"{self.max_frame_bytes} (Welcome.max_frame_bytes); nothing queued")
        self.db.execute("INSERT OR IGNORE INTO outbox VALUES(?, "
                        "(SELECT IFNULL(MAX(seq), 0) + 1 FROM outbox), ?)", (ref, raw))

    # -- Transport.

    def _connect(self):
        if self.sock is not None:
            self.sock.disable_monitor()
            self.monitor.close(linger=0)
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.DEALER)
        # A refused handshake is no message, only a monitor event (section 2):
        # AUTH with status 400 for a key the directory does not list,
        # NO_DETAIL for a wrong broker key (or, with some libzmq, any refusal).
        self.monitor = self.sock.get_monitor_socket(
            zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
            | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        self.handshake_logged = False
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.curve_publickey, self.sock.curve_secretkey = self.public, self.secret
        self.sock.curve_serverkey = self.broker_public      # before connect()
        # A new random routing id for every socket (section 2).
        self.sock.setsockopt(zmq.IDENTITY, f"{self.court}.{os.urandom(8).hex()}".encode())
        self.sock.connect(self.endpoint)
        self.welcomed, self.last_heard = False, now_ms()
        self.next_send = {}  # ref -> (due ms, backoff ms)
        self._send_hello()

    def _send(self, env):
        env.protocol = PROTOCOL
        try:
            self.sock.send(env.SerializeToString(), zmq.DONTWAIT)
        except zmq.Again:
            pass  # what matters is in the outbox and goes out again

    def _send_hello(self):
        env = wire_pb2.Envelope()
        env.hello.court_id, env.hello.agent_version = self.court, self.version
        self.last_hello = now_ms()
        self._send(env)

    def _refuse(self, ref, code, message):
        """A final refusal: the entry leaves the outbox, the refusal is kept
        for the court's users to see. Both or neither: a kill between them
        must not lose the entry without its refusal."""
        own = not self.db.in_transaction
        if own:
            self.db.execute("BEGIN")
        self.db.execute("DELETE FROM outbox WHERE ref = ?", (ref,))
        self.db.execute("INSERT INTO refusals VALUES(?, ?, ?, ?)",
                        (ref, name_of_code(code), message, int(time.time() * 1000)))
        if own:
            self.db.execute("COMMIT")
        sys.stderr.write(f"refused {ref} {name_of_code(code)}: {message}\n")

    def _resend_due(self):
        now = now_ms()
        for ref, raw in self.db.execute("SELECT ref, envelope FROM outbox ORDER BY seq").fetchall():
            due, backoff = self.next_send.get(ref, (0, RESEND_FIRST_MS))
            if now < due:
                continue
            if self.max_frame_bytes and len(raw) > self.max_frame_bytes:
                # The broker would answer TOO_LARGE with no ref, matching no
                # entry: refused here instead, finally, as it would be.
                self._refuse(ref, TOO_LARGE,
                             f"not sent: {len(raw)} bytes in its frame, over the broker's "
                             f"limit of {self.max_frame_bytes} (Welcome.max_frame_bytes)")
                continue
            try:
                self.sock.send(raw, zmq.DONTWAIT)
            except zmq.Again:
                return
            self.next_send[ref] = (now + backoff, min(backoff * 2, RESEND_MAX_MS))

    # -- The loop.

    def run(self, on_commission=None, on_event=None, on_welcome=None, seconds=None):
        """Serves until `seconds` pass (None: for ever). Handlers run after what
        they are told is on disk; a commission whose handler did not finish
        (a crash) is handed to it again at the next start (rule 6).
        on_welcome(welcome) runs each time the broker takes this court in."""
        on_commission = on_commission or (lambda c: None)
        on_event = on_event or (lambda e: None)
        self.on_welcome = on_welcome or (lambda w: None)
        for cid, body in self.db.execute(
                "SELECT id, body FROM commissions WHERE handled = 0").fetchall():
            self._handle_commission(cid, body, on_commission)
        self._connect()
        last_heartbeat = 0
        stop_at = now_ms() + int(seconds * 1000) if seconds else None
        while stop_at is None or now_ms() < stop_at:
            acks, fresh = [], []
            if self.sock.poll(50):
                self.db.execute("BEGIN")  # one transaction, one fsync, per turn
                while True:
                    try:
                        raw = self.sock.recv(zmq.DONTWAIT)
                    except zmq.Again:
                        break
                    self.last_heard = now_ms()
                    env = wire_pb2.Envelope()
                    try:
                        env.ParseFromString(raw)
                    except DecodeError:
                        continue
                    if env.protocol != PROTOCOL:
                        continue  # not a frame of this protocol (section 3): ignored
                    self._handle(env, acks, fresh)
                self.db.execute("COMMIT")
            # Before Welcome nothing but Hello goes out; deliveries recorded
            # meanwhile come again after it and are acknowledged then.
            if acks and self.welcomed:  # only what is on disk (rule 2)
                ack = wire_pb2.Envelope()
                ack.ack.delivery_ids.extend(acks)
                self._send(ack)
            for kind, item in fresh:
                if kind == "commission":
                    self._handle_commission(item.id, item.SerializeToString(), on_commission)
                else:
                    on_event(item)
            if self.welcomed:
                self._resend_due()
            if self.welcomed and now_ms() - last_heartbeat >= self.heartbeat_ms:
                hb = wire_pb2.Envelope()
                hb.heartbeat.at_ms = int(time.time() * 1000)
                self._send(hb)
                last_heartbeat = now_ms()
            self._check_handshake()
            if now_ms() - self.last_heard > SILENCE_MS:
                self._connect()  # new socket, new routing id, Hello (rule 7)

    def _check_handshake(self):
        """Logs, once per socket, why the broker would not shake hands. The
        socket is replaced after SILENCE_MS, so retries keep a modest pace."""
        while self.monitor.poll(0):
            event = recv_monitor_message(self.monitor)
            if self.handshake_logged:
                continue
            self.handshake_logged = True
            if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                why = (f"the broker refused this court's key (status {event['value']}): is its "
                       "public key in the broker's directory?")
            else:
                why = ("handshake with the broker failed: is the broker key file the broker's "
                       "public key, and is this court's public key in the broker's directory?")
            sys.stderr.write(f"cannot connect to {self.endpoint}: {why}\n")

    def _handle_commission(self, cid, body, on_commission):
        commission = commission_pb2.Commission()
        commission.ParseFromString(body)
        on_commission(commission)
        self.db.execute("UPDATE commissions SET handled = 1 WHERE id = ?", (cid,))

    def _handle(self, env, acks, fresh):
        body = env.WhichOneof("body")
        if body == "welcome":
            self.welcomed, self.next_send = True, {}  # the whole outbox, now, in order
            if env.welcome.heartbeat_ms:
                self.heartbeat_ms = env.welcome.heartbeat_ms
            # Absent from schemas older than the field: then not announced.
            self.max_frame_bytes = getattr(env.welcome, "max_frame_bytes", 0)
            self.on_welcome(env.welcome)
        elif body == "deliver":
            d = env.deliver
            # By name, so that a schema older than the broker's still works.
            item = d.WhichOneof("item")
            if item == "commission":
                cur = self.db.execute("INSERT OR IGNORE INTO commissions(id, body) VALUES(?, ?)",
                                      (d.commission.id, d.commission.SerializeToString()))
                if cur.rowcount:  # 0: a duplicate, acknowledged and ignored
                    fresh.append(("commission", d.commission))
            elif item == "event":
                self._record_event(d.event, fresh)
            elif item == "notice":
                pass  # a court notice, for supervisors: recorded by the ack only
            else:
                return  # an item this agent does not know: never acknowledged
            acks.append(d.delivery_id)
        elif body == "submit_receipt":
            self.db.execute("DELETE FROM outbox WHERE ref = ?",
                            (env.submit_receipt.commission_id,))
            self._record_event(env.submit_receipt.event, fresh)
        elif body == "update_receipt":
            self.db.execute("DELETE FROM outbox WHERE ref = ?", (env.update_receipt.request_id,))
            self._record_event(env.update_receipt.event, fresh)
        elif body == "error":
            e = env.error
            if e.code == wire_pb2.NOT_IDENTIFIED:
                # Say Hello again; one Hello answers every NOT_IDENTIFIED of
                # the messages still in flight.
                self.welcomed = False
                if now_ms() - self.last_hello > HELLO_EVERY_MS:
                    self._send_hello()
            elif e.code in RETRYABLE:
                # Kept in the outbox and resent on the timer (STORAGE_FULL,
                # RATE_LIMITED, UNAVAILABLE, INTERNAL): shown, not dropped.
                sys.stderr.write(f"broker refused {e.ref or '-'} for now, "
                                 f"{name_of_code(e.code)}: {e.message}\n")
            elif e.ref:
                self._refuse(e.ref, e.code, e.message)

    def _record_event(self, event, fresh):
        if not event.commission_id:
            return
        cur = self.db.execute("INSERT OR IGNORE INTO events VALUES(?, ?, ?, ?)",
                              (event.commission_id, event.seq, event.type,
                               event.SerializeToString()))
        if cur.rowcount:  # 0: (commission_id, seq) seen before
            fresh.append(("event", event))
