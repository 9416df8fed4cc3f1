"""Alert receivers for tests/alerts.rs: an HTTP server (webhook and DingTalk / Feishu / WeCom
robot endpoints) that checks signatures with Python's own hmac, and an SMTP server (aiosmtpd).

Usage: receivers.py <record.jsonl> <secret>. Prints {"http": port, "smtp": port} on stdout,
then appends one JSON line per request or mail received to the record file.
"""
import base64
import hashlib
import hmac
import json
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

RECORD, SECRET = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()
SEEN = {}


def record(entry):
    with LOCK:
        with open(RECORD, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def b64_hmac(key, msg):
    return base64.b64encode(hmac.new(key.encode(), msg.encode(), hashlib.sha256).digest()).decode()


class Http(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", "0")))
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        body = json.loads(raw or b"null")
        entry = {"path": url.path, "query": query, "body": body,
                 "headers": {k.lower(): v for k, v in self.headers.items()}}
        with LOCK:
            SEEN[url.path] = SEEN.get(url.path, 0) + 1
            n = SEEN[url.path]
        if url.path == "/hook" or url.path == "/flaky":
            want = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            entry["verified"] = hmac.compare_digest(want, self.headers.get("x-scaleph-signature-256", ""))
            record(entry)
            if url.path == "/flaky" and n <= int(query.get("fail", "1")):
                return self.answer(500, {"error": "down for a while"})
            return self.answer(200 if entry["verified"] else 401, {"ok": entry["verified"]})
        if url.path == "/dingtalk":
            ts = query.get("timestamp", "")
            entry["verified"] = query.get("access_token") == "tok" and ts != "" and \
                hmac.compare_digest(b64_hmac(SECRET, f"{ts}\n{SECRET}"), query.get("sign", ""))
            record(entry)
            if entry["verified"]:
                return self.answer(200, {"errcode": 0, "errmsg": "ok"})
            return self.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
        if url.path == "/feishu":
            ts = str(body.get("timestamp", ""))
            want = base64.b64encode(hmac.new(f"{ts}\n{SECRET}".encode(), b"", hashlib.sha256).digest()).decode()
            entry["verified"] = ts != "" and hmac.compare_digest(want, body.get("sign", ""))
            record(entry)
            if entry["verified"]:
                return self.answer(200, {"code": 0, "msg": "success"})
            return self.answer(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"})
        if url.path == "/wecom":
            entry["verified"] = query.get("key") == "k1" and body.get("msgtype") == "markdown"
            record(entry)
            if entry["verified"]:
                return self.answer(200, {"errcode": 0, "errmsg": "ok"})
            return self.answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        record(entry)
        return self.answer(404, {"error": "no such receiver"})


class Mail:
    async def handle_DATA(self, server, session, envelope):
        record({"smtp": True, "from": envelope.mail_from, "to": envelope.rcpt_tos,
                "content": envelope.content.decode("utf-8", "replace")})
        return "250 Message accepted for delivery"


def main():
    http = ThreadingHTTPServer(("127.0.0.1", 0), Http)
    with socket.socket() as s:  # a free port (aiosmtpd's readiness probe needs a real one)
        s.bind(("127.0.0.1", 0))
        smtp_port = s.getsockname()[1]
    smtp = Controller(Mail(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    print(json.dumps({"http": http.server_address[1], "smtp": smtp_port}), flush=True)
    http.serve_forever()


if __name__ == "__main__":
    main()
