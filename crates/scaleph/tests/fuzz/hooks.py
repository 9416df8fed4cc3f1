"""Schemathesis hooks of `tests/fuzz_api.rs` (loaded through SCHEMATHESIS_HOOKS=hooks).

They keep the fuzzer off the network and keep it signed in:
- a registered cluster's `rest_url` becomes http://127.0.0.1:1 and a datasource's `host`
  127.0.0.1 (port 1), so no request ever leaves the machine (127.0.0.1:1 is closed);
- calls that would revoke the fuzzer's own token, or disable or demote the admin it acts as,
  are aimed at a nil id instead (FUZZ_TOKEN_ID and FUZZ_ADMIN_ID come from the test);
- a job's `settings.parallelism` above 4 becomes 4: this is a 2-core test machine, and
  parallelism bounds are tested elsewhere;
- `application/java-archive` bodies (artifact uploads) are sent as raw bytes.
"""

import os

import schemathesis
from schemathesis.transport.serialization import serialize_binary

CLOSED_URL = "http://127.0.0.1:1"
LOOPBACK = "127.0.0.1"
NIL_ID = "00000000-0000-0000-0000-000000000000"
ADMIN_ID = os.environ["FUZZ_ADMIN_ID"]
TOKEN_ID = os.environ["FUZZ_TOKEN_ID"]


@schemathesis.serializer("application/java-archive")
def jar(ctx, value):
    return {"data": serialize_binary(value)}


def _keep_local(body):
    if not isinstance(body, dict):
        return
    if isinstance(body.get("rest_url"), str):
        body["rest_url"] = CLOSED_URL
    settings = body.get("settings")
    if isinstance(settings, dict):
        par = settings.get("parallelism")
        if isinstance(par, int) and not isinstance(par, bool) and par > 4:
            settings["parallelism"] = 4
    props = body.get("properties")
    if isinstance(props, dict):
        if isinstance(props.get("host"), str):
            props["host"] = LOOPBACK
        if "port" in props:
            props["port"] = 1


@schemathesis.hook
def before_call(context, case, kwargs):
    _keep_local(case.body)
    params = case.path_parameters or {}
    if params.get("token_id") == TOKEN_ID:
        params["token_id"] = NIL_ID
    path = case.operation.path
    if params.get("user_id") == ADMIN_ID and path == "/api/v1/users/{user_id}":
        params["user_id"] = NIL_ID
